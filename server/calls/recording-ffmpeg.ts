/**
 * ffmpeg as the recorder's muxer: what it must support, the SDP it reads,
 * the ports it listens on, and one process per recording that stops cleanly
 * ('q' on stdin, then SIGINT, then SIGKILL) so the WebM gets its duration
 * and index written.
 *
 * ffmpeg reads one VP8 stream (copied, never re-encoded) and a fixed number
 * of Opus audio slots (decoded, mixed with amix, encoded once) from RTP on
 * 127.0.0.1 — only packets from 127.0.0.1 are accepted (the SDP's
 * source-filter), so nothing else on the network can write into a
 * recording. Packets are timestamped on arrival (`-use_wallclock_as_timestamps`):
 * the streams come from one sender in real time, so arrival time is the
 * common clock that keeps picture and sound in step.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';

export const VIDEO_PAYLOAD_TYPE = 96;
export const AUDIO_PAYLOAD_TYPE = 111;

/** What this ffmpeg can do for recording, checked once (a failure is checked again after a while). */
let probed: { path: string; at: number; result: Promise<string | null> } | null = null;

/**
 * Null when `ffmpegPath` runs and has the libopus and libvpx encoders the
 * recorder uses; otherwise why not, in words for the log and the user.
 */
export function ffmpegProblem(ffmpegPath: string): Promise<string | null> {
  if (probed !== null && probed.path === ffmpegPath) {
    return probed.result.then((problem) => {
      if (problem === null || Date.now() - probed!.at < 30_000) return problem;
      probed = null;
      return ffmpegProblem(ffmpegPath);
    });
  }
  const result = run(ffmpegPath, ['-hide_banner', '-encoders'], 10_000).then(
    ({ code, stdout }) => {
      if (code !== 0) return `${ffmpegPath} -encoders exited with ${code}`;
      const missing = ['libopus', 'libvpx'].filter((name) => !new RegExp(`\\s${name}\\s`).test(stdout.toString()));
      return missing.length === 0 ? null : `${ffmpegPath} lacks the ${missing.join(' and ')} encoder(s)`;
    },
    (error: unknown) => `${ffmpegPath} cannot be run (${error instanceof Error ? error.message : String(error)})`,
  );
  probed = { path: ffmpegPath, at: Date.now(), result };
  return result;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks) }));
  });
}

let stillFrame: Promise<Buffer> | null = null;

/**
 * One VP8 key frame of a plain dark picture (640x360, ~500 bytes), made once
 * by ffmpeg itself: what the recording shows while nobody's video is on.
 */
export function placeholderFrame(ffmpegPath: string): Promise<Buffer> {
  stillFrame ??= run(
    ffmpegPath,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=0x1f2937:s=640x360:r=1',
      '-frames:v',
      '1',
      '-c:v',
      'libvpx',
      '-f',
      'ivf',
      'pipe:1',
    ],
    10_000,
  ).then(({ code, stdout }) => {
    // IVF: a 32-byte file header, then per frame a 12-byte header (size, pts) and the frame.
    if (code !== 0 || stdout.length < 44) throw new Error('ffmpeg could not make the placeholder frame');
    const size = stdout.readUInt32LE(32);
    return stdout.subarray(44, 44 + size);
  });
  stillFrame.catch(() => (stillFrame = null));
  return stillFrame;
}

/**
 * Free UDP port pairs (an even RTP port with the next one free for RTCP, as
 * ffmpeg binds both), found by binding and releasing them. ffmpeg binds them
 * a moment later; on a busy host a port can be taken in between, and the
 * recording then fails to start with ffmpeg's message (and can be retried).
 */
export async function freePortPairs(count: number): Promise<number[]> {
  const ports: number[] = [];
  const held: ReturnType<typeof createSocket>[] = [];
  const bind = (port: number) =>
    new Promise<ReturnType<typeof createSocket> | null>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(null);
      });
      socket.bind(port, '0.0.0.0', () => resolve(socket));
    });
  try {
    for (let attempts = 0; ports.length < count && attempts < count * 50; attempts++) {
      const probe = await bind(0);
      if (probe === null) continue;
      const port = probe.address().port;
      const rtp = port % 2 === 0 ? probe : await bind(port + 1);
      if (port % 2 !== 0) probe.close();
      if (rtp === null) continue;
      const rtpPort = rtp.address().port;
      const rtcp = await bind(rtpPort + 1);
      if (rtcp === null) {
        rtp.close();
        continue;
      }
      held.push(rtp, rtcp);
      ports.push(rtpPort);
    }
  } finally {
    for (const socket of held) socket.close();
  }
  if (ports.length < count) throw new Error('no free UDP ports for the recorder');
  return ports;
}

/** The SDP ffmpeg reads: the video stream first, then the audio slots, all from 127.0.0.1 only. */
export function recorderSdp(videoPort: number, audioPorts: readonly number[]): string {
  const lines = [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=MegiLance recording',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=video ${videoPort} RTP/AVP ${VIDEO_PAYLOAD_TYPE}`,
    `a=rtpmap:${VIDEO_PAYLOAD_TYPE} VP8/90000`,
    'a=source-filter: incl IN IP4 * 127.0.0.1',
    'a=recvonly',
  ];
  for (const port of audioPorts) {
    lines.push(
      `m=audio ${port} RTP/AVP ${AUDIO_PAYLOAD_TYPE}`,
      `a=rtpmap:${AUDIO_PAYLOAD_TYPE} opus/48000/2`,
      'a=source-filter: incl IN IP4 * 127.0.0.1',
      'a=recvonly',
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** ffmpeg's arguments: VP8 copied, the audio slots mixed (not averaged: silence adds nothing) into Opus, WebM out. */
export function recorderArgs(sdpFile: string, outFile: string, audioSlots: number): string[] {
  const inputs = Array.from({ length: audioSlots }, (_, i) => `[0:a:${i}]`).join('');
  const mix =
    audioSlots === 1
      ? '[0:a:0]asetpts=STARTPTS+N/SR/TB[a]'
      : `${inputs}amix=inputs=${audioSlots}:duration=longest:dropout_transition=0:normalize=0,asetpts=STARTPTS+N/SR/TB[a]`;
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'warning',
    '-protocol_whitelist',
    'file,udp,rtp',
    '-use_wallclock_as_timestamps',
    '1',
    // The probe needs only each stream's first packets (codecs come from the SDP, the size from
    // the first key frame); frame-rate probing would wait for 20 frames of a still picture.
    '-analyzeduration',
    '2000000',
    '-fpsprobesize',
    '0',
    '-f',
    'sdp',
    '-i',
    sdpFile,
    '-filter_complex',
    mix,
    '-map',
    '0:v:0',
    '-map',
    '[a]',
    '-c:v',
    'copy',
    '-c:a',
    'libopus',
    '-b:a',
    '64k',
    '-ar',
    '48000',
    '-ac',
    '2',
    '-f',
    'webm',
    '-y',
    outFile,
  ];
}

/** Whether every port is bound by some process (Linux: /proc/net/udp); null where that cannot be told. */
export async function udpPortsBound(ports: readonly number[]): Promise<boolean | null> {
  let table: string;
  try {
    table = (await Promise.all(['/proc/net/udp', '/proc/net/udp6'].map((f) => readFile(f, 'utf8').catch(() => ''))))
      .join('\n')
      .trim();
  } catch {
    return null;
  }
  if (table === '') return null;
  const bound = new Set<number>();
  for (const line of table.split('\n')) {
    const local = /^\s*\d+:\s+[0-9A-F]+:([0-9A-F]{4})\s/i.exec(line)?.[1];
    if (local !== undefined) bound.add(parseInt(local, 16));
  }
  return ports.every((port) => bound.has(port));
}

export interface RecorderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** ffmpeg's last lines of warnings and errors. */
  log: string;
}

/** One running ffmpeg: `exited` settles when it ends, whoever ended it; `stop` ends it cleanly. */
export class RecorderProcess {
  readonly #child: ChildProcessByStdio<Writable, null, Readable>;
  readonly exited: Promise<RecorderExit>;
  #log = '';
  #done = false;

  constructor(ffmpegPath: string, args: string[]) {
    this.#child = spawn(ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#child.stdin.on('error', () => {});
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (text: string) => {
      this.#log = (this.#log + text).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.#child.once('error', (error) => {
        this.#log += `\n${error.message}`;
      });
      this.#child.once('close', (code, signal) => {
        this.#done = true;
        resolve({ code, signal, log: this.#log.trim() });
      });
    });
  }

  get running(): boolean {
    return !this.#done;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** 'q' (ffmpeg finishes the file), then SIGINT, then SIGKILL if it still hangs. */
  async stop(graceMs = 10_000): Promise<RecorderExit> {
    if (this.#done) return this.exited;
    this.#child.stdin.end('q');
    const escalate = (signal: NodeJS.Signals, afterMs: number) =>
      setTimeout(() => {
        if (!this.#done) this.#child.kill(signal);
      }, afterMs);
    const interrupt = escalate('SIGINT', graceMs);
    const kill = escalate('SIGKILL', graceMs * 2);
    try {
      return await this.exited;
    } finally {
      clearTimeout(interrupt);
      clearTimeout(kill);
    }
  }
}
