/**
 * The recorder's RTP rewriting, byte by byte: what ffmpeg receives must be
 * one stream (one SSRC, sequence numbers +1, timestamps moving with time)
 * whichever participant feeds it, and a switch may only happen at a VP8 key
 * frame. Also the byte ranges the download route answers.
 */
import { describe, expect, it } from 'vitest';
import { parseRange } from './recording-http.ts';
import { recorderSdp } from './recording-ffmpeg.ts';
import { OPUS_SILENCE_FRAME, payloadOffset, RtpOutput, startsVp8KeyFrame, vp8Payloads } from './recording-rtp.ts';

function rtp(options: { seq: number; ts: number; ssrc: number; pt?: number; marker?: boolean; payload: number[] }) {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (options.marker === true ? 0x80 : 0) | (options.pt ?? 100);
  header.writeUInt16BE(options.seq, 2);
  header.writeUInt32BE(options.ts, 4);
  header.writeUInt32BE(options.ssrc, 8);
  return Buffer.concat([header, Buffer.from(options.payload)]);
}

const fields = (packet: Buffer) => ({
  pt: packet[1]! & 0x7f,
  marker: (packet[1]! & 0x80) !== 0,
  seq: packet.readUInt16BE(2),
  ts: packet.readUInt32BE(4),
  ssrc: packet.readUInt32BE(8),
});

describe('VP8 key frames', () => {
  it('finds the start of a key frame behind any payload descriptor, and nothing else', () => {
    // ffmpeg's packetizer: X=1 S=1, I=1 with a 15-bit picture id, then the VP8 header (P=0: key frame).
    expect(startsVp8KeyFrame(rtp({ seq: 1, ts: 1, ssrc: 1, payload: [0x90, 0x80, 0x81, 0x23, 0x50] }))).toBe(true);
    // Chrome's: X=1 S=1, I=1 (15 bits), L=1 (TL0PICIDX), T=1 (TID), then the header.
    expect(
      startsVp8KeyFrame(rtp({ seq: 1, ts: 1, ssrc: 1, payload: [0x90, 0xe0, 0x81, 0x23, 0x07, 0x20, 0x50] })),
    ).toBe(true);
    expect(startsVp8KeyFrame(rtp({ seq: 1, ts: 1, ssrc: 1, payload: [0x10, 0x50] }))).toBe(true);
    // An inter frame (P=1), a continuation (S=0), another partition (PID=1).
    expect(startsVp8KeyFrame(rtp({ seq: 1, ts: 1, ssrc: 1, payload: [0x90, 0x80, 0x81, 0x23, 0x51] }))).toBe(false);
    expect(startsVp8KeyFrame(rtp({ seq: 1, ts: 1, ssrc: 1, payload: [0x80, 0x80, 0x81, 0x23, 0x50] }))).toBe(false);
    expect(startsVp8KeyFrame(rtp({ seq: 1, ts: 1, ssrc: 1, payload: [0x11, 0x50] }))).toBe(false);
    expect(startsVp8KeyFrame(Buffer.from([0x80, 0x60]))).toBe(false);
  });

  it('skips CSRCs and header extensions to reach the payload', () => {
    const packet = rtp({
      seq: 1,
      ts: 1,
      ssrc: 1,
      payload: [0xbe, 0xde, 0x00, 0x01, 0x10, 0x01, 0x00, 0x00, 0x10, 0x50],
    });
    packet[0] = 0x90; // X: a one-word extension
    expect(payloadOffset(packet)).toBe(20);
    expect(startsVp8KeyFrame(packet)).toBe(true);
  });

  it('splits a frame into payloads with the start bit on the first only', () => {
    const payloads = vp8Payloads(Buffer.alloc(2500, 7), 1100);
    expect(payloads.map((p) => [p[0], p.length])).toEqual([
      [0x10, 1101],
      [0x00, 1101],
      [0x00, 301],
    ]);
  });
});

describe('one continuous stream from many sources', () => {
  it('renumbers each source onto one SSRC with sequence numbers +1 and time moving on', () => {
    let now = 1_000_000;
    const sent: Buffer[] = [];
    const out = new RtpOutput({
      ssrc: 0xabcdef,
      payloadType: 111,
      clockRate: 48_000,
      send: (p) => sent.push(p),
      now: () => now,
    });
    // Alice's microphone: 3 packets.
    for (let i = 0; i < 3; i++) {
      out.forward(rtp({ seq: 60_000 + i, ts: 5_000 + i * 960, ssrc: 1, payload: [1] }), 'alice', 960);
      now += 20;
    }
    // Silence for 2 frames.
    out.emit([OPUS_SILENCE_FRAME], { step: 960, byElapsedTime: false, marker: false });
    now += 20;
    out.emit([OPUS_SILENCE_FRAME], { step: 960, byElapsedTime: false, marker: false });
    now += 100; // 100 ms later Bob's microphone takes the slot, with numbering of its own.
    out.forward(rtp({ seq: 7, ts: 123, ssrc: 2, marker: true, payload: [2] }), 'bob', 960);
    now += 20;
    out.forward(rtp({ seq: 8, ts: 123 + 960, ssrc: 2, payload: [2] }), 'bob', 960);
    const f = sent.map(fields);
    expect(new Set(f.map((p) => p.ssrc))).toEqual(new Set([0xabcdef]));
    expect(f.every((p) => p.pt === 111)).toBe(true);
    for (let i = 1; i < f.length; i++) expect((f[i]!.seq - f[i - 1]!.seq) & 0xffff).toBe(1);
    const steps = f.slice(1).map((p, i) => (p.ts - f[i]!.ts) >>> 0);
    expect(steps).toEqual([960, 960, 960, 960, 4_800, 960]);
    expect(f[5]!.marker).toBe(true);
    expect(sent[5]!.subarray(12)).toEqual(Buffer.from([2]));
  });

  it('keeps a late packet in its place without moving the stream back', () => {
    const sent: Buffer[] = [];
    const out = new RtpOutput({ ssrc: 9, payloadType: 96, clockRate: 90_000, send: (p) => sent.push(p) });
    out.forward(rtp({ seq: 10, ts: 3000, ssrc: 1, payload: [] }), 'a');
    out.forward(rtp({ seq: 12, ts: 6000, ssrc: 1, payload: [] }), 'a');
    out.forward(rtp({ seq: 11, ts: 3000, ssrc: 1, payload: [] }), 'a');
    out.forward(rtp({ seq: 13, ts: 9000, ssrc: 1, payload: [] }), 'a');
    const seqs = sent.map((p) => p.readUInt16BE(2));
    expect(seqs.map((s) => (s - seqs[0]!) & 0xffff)).toEqual([0, 2, 1, 3]);
  });
});

describe('what ffmpeg and players are told', () => {
  it('describes one VP8 and the Opus slots, accepting packets from loopback only', () => {
    const sdp = recorderSdp(5000, [5002, 5004]);
    expect(sdp.match(/^m=.*$/gm)).toEqual([
      'm=video 5000 RTP/AVP 96',
      'm=audio 5002 RTP/AVP 111',
      'm=audio 5004 RTP/AVP 111',
    ]);
    expect(sdp.match(/source-filter: incl IN IP4 \* 127\.0\.0\.1/g)).toHaveLength(3);
  });

  it('answers byte ranges as RFC 9110 says', () => {
    expect(parseRange(undefined, 1000)).toBeNull();
    expect(parseRange('bytes=0-99', 1000)).toEqual([0, 99]);
    expect(parseRange('bytes=900-', 1000)).toEqual([900, 999]);
    expect(parseRange('bytes=900-5000', 1000)).toEqual([900, 999]);
    expect(parseRange('bytes=-100', 1000)).toEqual([900, 999]);
    expect(parseRange('bytes=-5000', 1000)).toEqual([0, 999]);
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-4', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeNull();
    expect(parseRange('items=0-1', 1000)).toBeNull();
  });
});
