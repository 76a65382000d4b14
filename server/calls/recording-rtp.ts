/**
 * RTP as the recorder rewrites it: ffmpeg reads a fixed set of RTP streams
 * (one video, a few audio slots) described once in an SDP file, and it cannot
 * follow a stream whose SSRC, sequence numbers or timestamps jump — which is
 * what happens whenever the recording switches to another speaker's camera
 * or another microphone takes an audio slot (each mediasoup consumer has its
 * own SSRC and numbering). So every outgoing stream here is one continuous
 * timeline: packets from whichever source feeds it are renumbered onto it,
 * and gaps are filled (silence for audio, a still frame for video) so that
 * ffmpeg never waits on an input.
 *
 * Pure byte work, no I/O: `RtpOutput` hands finished packets to a callback.
 */

const RTP_HEADER = 12;

/** Where an RTP packet's payload starts (after CSRCs and header extension), or -1 if malformed. */
export function payloadOffset(packet: Buffer): number {
  if (packet.length < RTP_HEADER || packet[0]! >> 6 !== 2) return -1;
  let offset = RTP_HEADER + (packet[0]! & 0x0f) * 4;
  if ((packet[0]! & 0x10) !== 0) {
    if (packet.length < offset + 4) return -1;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  return offset <= packet.length ? offset : -1;
}

/**
 * True when the packet starts a VP8 key frame (RFC 7741): the start of
 * partition 0 (S=1, PID=0) whose VP8 payload header has P=0. Only there can
 * the recording switch to this source: everything after depends on it.
 */
export function startsVp8KeyFrame(packet: Buffer): boolean {
  let i = payloadOffset(packet);
  if (i < 0 || i >= packet.length) return false;
  const first = packet[i]!;
  const start = (first & 0x10) !== 0 && (first & 0x07) === 0;
  if (!start) return false;
  i += 1;
  if ((first & 0x80) !== 0) {
    // Extended control bits: I (picture id), L (TL0PICIDX), T/K (TID/KEYIDX).
    const ext = packet[i++];
    if (ext === undefined) return false;
    if ((ext & 0x80) !== 0) i += (packet[i]! & 0x80) !== 0 ? 2 : 1;
    if ((ext & 0x40) !== 0) i += 1;
    if ((ext & 0x30) !== 0) i += 1;
  }
  const header = packet[i];
  return header !== undefined && (header & 0x01) === 0;
}

/** One 20 ms Opus frame of silence (TOC 0xf8: CELT fullband 20 ms, mono; decodes to silence). */
export const OPUS_SILENCE_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);

/** RTP payloads carrying one VP8 frame (RFC 7741 descriptor with S on the first, no extensions). */
export function vp8Payloads(frame: Buffer, maxPayload = 1100): Buffer[] {
  const payloads: Buffer[] = [];
  for (let at = 0; at < frame.length; at += maxPayload) {
    const descriptor = at === 0 ? 0x10 : 0x00;
    payloads.push(Buffer.concat([Buffer.from([descriptor]), frame.subarray(at, at + maxPayload)]));
  }
  return payloads;
}

export interface RtpOutputOptions {
  ssrc: number;
  payloadType: number;
  clockRate: number;
  /** Where finished packets go (the UDP socket to ffmpeg). */
  send: (packet: Buffer) => void;
  now?: () => number;
}

/**
 * One outgoing RTP stream with a single SSRC and continuous sequence numbers
 * and timestamps, whatever feeds it. A source is "anchored" on its first
 * packet: from then on its own numbering is shifted by fixed offsets, so its
 * packet timing survives; after a filler packet or a switch, the next source
 * is anchored again, its first packet placed after the last one sent by the
 * wall-clock time in between.
 */
export class RtpOutput {
  readonly ssrc: number;
  readonly #payloadType: number;
  readonly #clockRate: number;
  readonly #send: (packet: Buffer) => void;
  readonly #now: () => number;
  #seq = Math.floor(Math.random() * 0x8000);
  #timestamp = Math.floor(Math.random() * 0x7fffffff);
  #sentAt: number | null = null;
  #anchor: { source: string; seqOffset: number; tsOffset: number } | null = null;
  /** Packets and bytes sent, for the logs and tests. */
  packets = 0;

  constructor(options: RtpOutputOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.#payloadType = options.payloadType;
    this.#clockRate = options.clockRate;
    this.#send = options.send;
    this.#now = options.now ?? Date.now;
  }

  /** Which source the stream is following right now (null after filler, before the first packet). */
  get source(): string | null {
    return this.#anchor?.source ?? null;
  }

  /** When the last packet left (ms), or null before the first. */
  get sentAt(): number | null {
    return this.#sentAt;
  }

  /** The timestamp for "now", continuing the timeline by elapsed wall-clock time (at least one tick on). */
  #nextTimestamp(now: number, minStep: number): number {
    if (this.#sentAt === null) return this.#timestamp;
    const elapsed = Math.round(((now - this.#sentAt) * this.#clockRate) / 1000);
    return (this.#timestamp + Math.max(minStep, elapsed)) >>> 0;
  }

  /** Renumbers a source's packet onto this stream and sends it. `source` names who it comes from. */
  forward(packet: Buffer, source: string, minStep = 1): void {
    const offset = payloadOffset(packet);
    if (offset < 0) return;
    const now = this.#now();
    const seq = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    if (this.#anchor?.source !== source) {
      const placed = this.#sentAt === null ? this.#timestamp : this.#nextTimestamp(now, minStep);
      const nextSeq = this.#sentAt === null ? this.#seq : (this.#seq + 1) & 0xffff;
      this.#anchor = { source, seqOffset: nextSeq - seq, tsOffset: placed - timestamp };
    }
    const out = Buffer.from(packet);
    const outSeq = (seq + this.#anchor.seqOffset) & 0xffff;
    const outTimestamp = (timestamp + this.#anchor.tsOffset) >>> 0;
    out[1] = (packet[1]! & 0x80) | this.#payloadType;
    out.writeUInt16BE(outSeq, 2);
    out.writeUInt32BE(outTimestamp, 4);
    out.writeUInt32BE(this.ssrc, 8);
    // Late (reordered) packets keep their place; only newer ones move the stream on.
    const ahead = ((outSeq - this.#seq) & 0xffff) < 0x8000;
    if (this.#sentAt === null || ahead) {
      this.#seq = outSeq;
      this.#timestamp = outTimestamp;
      this.#sentAt = now;
    }
    this.packets += 1;
    this.#send(out);
  }

  /**
   * Sends packets made here (silence, a still frame) sharing one timestamp,
   * `step` ticks after the previous packet (or, with `byElapsedTime`, by the
   * wall-clock time since, when longer). The next forwarded packet is anchored again.
   */
  emit(payloads: Buffer[], options: { step: number; byElapsedTime: boolean; marker: boolean }): void {
    const now = this.#now();
    let timestamp = this.#timestamp;
    if (this.#sentAt !== null) {
      timestamp = options.byElapsedTime
        ? this.#nextTimestamp(now, options.step)
        : (this.#timestamp + options.step) >>> 0;
    }
    this.#anchor = null;
    payloads.forEach((payload, index) => {
      const header = Buffer.alloc(RTP_HEADER);
      header[0] = 0x80;
      const last = index === payloads.length - 1;
      header[1] = (last && options.marker ? 0x80 : 0) | this.#payloadType;
      if (this.#sentAt !== null || index > 0) this.#seq = (this.#seq + 1) & 0xffff;
      header.writeUInt16BE(this.#seq, 2);
      header.writeUInt32BE(timestamp, 4);
      header.writeUInt32BE(this.ssrc, 8);
      this.#timestamp = timestamp;
      this.#sentAt = now;
      this.packets += 1;
      this.#send(Buffer.concat([header, payload]));
    });
  }
}
