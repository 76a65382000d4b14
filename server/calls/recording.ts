/**
 * Recording a call on the server: the host starts and stops it; the file is
 * a WebM with one video track (whoever is being watched: a screen share,
 * else the active speaker's camera) and everyone's microphones mixed.
 *
 * How media gets to ffmpeg, and why this way: ffmpeg reads RTP described by
 * an SDP file fixed when it starts, and it cannot follow a stream whose SSRC
 * or numbering changes, nor streams that appear later; its mixer stalls on
 * an input that goes quiet. So mediasoup does not send to ffmpeg directly:
 *
 *   producers ──(DirectTransport consumers)──▶ CallRecorder ──UDP──▶ ffmpeg ──▶ <id>.webm
 *
 * The recorder consumes every camera, screen share and microphone of the
 * room through one DirectTransport and writes a fixed set of RTP streams to
 * ffmpeg (recording-rtp.ts renumbers them): one VP8 stream that switches
 * between sources only at a key frame of the new one (copied into the file,
 * never re-encoded), and AUDIO_SLOTS Opus streams that ffmpeg mixes; a slot
 * with no one speaking into it carries Opus silence, and when no video is
 * on, a still frame goes out once a second. People joining, leaving,
 * muting, turning their camera off or sharing their screen mid-recording
 * change what the streams carry, never which streams there are. Consumers
 * not needed right now (cameras not shown, microphones without a slot) are
 * paused, so the recorder costs the SFU little.
 *
 * Only VP8 video is recorded (it is copied, not transcoded; the router
 * prefers VP8 and browsers send it); an H264 or VP9 camera shows as the
 * still frame. More than AUDIO_SLOTS microphones: the slots follow who
 * spoke most recently.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaSource, RecordingUrl, RecordingView } from '../../shared/calls.ts';
import { AppError } from '../../shared/errors.ts';
import type { Database } from '../db/schema.ts';
import { requireParticipant } from '../meetings/meetings.ts';
import { newId } from '../security/secrets.ts';
import type { CallHistory } from './history.ts';
import {
  AUDIO_PAYLOAD_TYPE,
  ffmpegProblem,
  freePortPairs,
  placeholderFrame,
  RecorderProcess,
  recorderArgs,
  recorderSdp,
  udpPortsBound,
  VIDEO_PAYLOAD_TYPE,
  type RecorderExit,
} from './recording-ffmpeg.ts';
import { OPUS_SILENCE_FRAME, RtpOutput, startsVp8KeyFrame, vp8Payloads } from './recording-rtp.ts';
import {
  deleteRecordingRow,
  findRecording,
  insertRecording,
  meetingRecordings,
  recordingsDb,
  recordingsStartedBefore,
  recordingView,
  unfinishedRecordings,
  updateRecording,
  type RecordingsDb,
  type RecordingsTable,
} from './recording-store.ts';
import type { CallRoom, RoomProducer } from './room.ts';

/** Microphones mixed at once. */
export const AUDIO_SLOTS = 8;
const AUDIO_FRAME_MS = 20;
const AUDIO_FRAME_TICKS = 960;
/** A slot that has had no packet for this long gets silence. */
const SILENCE_AFTER_MS = 60;
const VIDEO_TICK_MS = 250;
/** The shown camera stays at least this long before the next speaker's (no flicker between two talkers). */
const MIN_SHOT_MS = 2_000;
/** The shown video counts as gone after this long without a packet. */
const VIDEO_STALL_MS = 2_000;
const STILL_FRAME_EVERY_MS = 1_000;
const KEY_FRAME_RETRY_MS = 1_000;
/** Key frames asked of the shown camera this often, so the file can be seeked. */
const KEY_FRAME_EVERY_MS = 10_000;
const READY_TIMEOUT_MS = 10_000;

interface RecordedInput {
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  consumer: types.Consumer;
  /** Wanted now: audio with a slot, video shown or about to be. Others are paused. */
  flowing: boolean;
  lastPacketAt: number;
  slot: AudioSlot | null;
}

interface AudioSlot {
  output: RtpOutput;
  input: RecordedInput | null;
  lastRealAt: number | null;
  silenceDue: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One recording of one room: the consumers, the RTP streams to ffmpeg, and ffmpeg. */
export class CallRecorder {
  readonly room: CallRoom;
  readonly file: string;
  /** When ffmpeg began receiving (the recording's time zero). */
  startedAt = 0;
  /** Told once if ffmpeg ends without being asked to (the recording failed). */
  onFailure: (exit: RecorderExit) => void = () => {};

  readonly #logger: Logger;
  readonly #ffmpegPath: string;
  readonly #transport: types.DirectTransport;
  readonly #socket: Socket;
  readonly #ports: number[];
  readonly #sdpFile: string;
  readonly #stillFrame: Buffer[];
  readonly #inputs = new Map<string, RecordedInput>();
  readonly #slots: AudioSlot[];
  readonly #video: RtpOutput;
  readonly #lastSpoke = new Map<string, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  #process: RecorderProcess | null = null;
  #ready = false;
  #stopped = false;
  #stopping: Promise<RecorderExit> | null = null;
  #activeSpeaker: string | null;
  #current: RecordedInput | null = null;
  #target: RecordedInput | null = null;
  #shownSince = 0;
  #stillAt = 0;
  #keyFrameAskedAt = 0;

  private constructor(
    room: CallRoom,
    transport: types.DirectTransport,
    socket: Socket,
    ports: number[],
    stillFrame: Buffer,
    sdpFile: string,
    options: { ffmpegPath: string; file: string; logger: Logger },
  ) {
    this.room = room;
    this.file = options.file;
    this.#logger = options.logger;
    this.#ffmpegPath = options.ffmpegPath;
    this.#transport = transport;
    this.#socket = socket;
    this.#ports = ports;
    this.#sdpFile = sdpFile;
    this.#stillFrame = vp8Payloads(stillFrame);
    this.#activeSpeaker = room.activeSpeaker;
    const sendTo = (port: number) => (packet: Buffer) => {
      if (!this.#ready) return;
      socket.send(packet, port, '127.0.0.1');
    };
    this.#video = new RtpOutput({
      ssrc: randomBytes(4).readUInt32BE(),
      payloadType: VIDEO_PAYLOAD_TYPE,
      clockRate: 90_000,
      send: sendTo(ports[0]!),
    });
    this.#slots = ports.slice(1).map((port) => ({
      output: new RtpOutput({
        ssrc: randomBytes(4).readUInt32BE(),
        payloadType: AUDIO_PAYLOAD_TYPE,
        clockRate: 48_000,
        send: sendTo(port),
      }),
      input: null,
      lastRealAt: null,
      silenceDue: null,
    }));
  }

  /** Starts ffmpeg and the streams to it; resolves once ffmpeg is receiving. */
  static async start(
    room: CallRoom,
    options: { ffmpegPath: string; file: string; logger: Logger; audioSlots?: number },
  ): Promise<CallRecorder> {
    const stillFrame = await placeholderFrame(options.ffmpegPath);
    const ports = await freePortPairs(1 + (options.audioSlots ?? AUDIO_SLOTS));
    const sdpFile = `${options.file}.sdp`;
    await writeFile(sdpFile, recorderSdp(ports[0]!, ports.slice(1)));
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // ffmpeg not yet (or no longer) listening answers with ICMP: nothing to act on.
    socket.on('error', () => {});
    let transport: types.DirectTransport;
    try {
      transport = await room.router.createDirectTransport({ appData: { recording: true } });
    } catch (error) {
      socket.close();
      await rm(sdpFile, { force: true });
      throw error;
    }
    const recorder = new CallRecorder(room, transport, socket, ports, stillFrame, sdpFile, options);
    try {
      await recorder.#run();
    } catch (error) {
      recorder.#stopped = true;
      await recorder.#process?.stop(1_000);
      await recorder.#teardown();
      throw error;
    }
    return recorder;
  }

  async #run(): Promise<void> {
    const ffmpeg = new RecorderProcess(this.#ffmpegPath, recorderArgs(this.#sdpFile, this.file, this.#slots.length));
    this.#process = ffmpeg;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (!ffmpeg.running) throw new Error(`ffmpeg exited at once: ${(await ffmpeg.exited).log}`);
      const bound = await udpPortsBound(this.#ports);
      if (bound === true) break;
      if (bound === null) {
        // No way to see its sockets here: give it the time it takes on a slow machine.
        await sleep(1_000);
        break;
      }
      if (Date.now() > deadline) throw new Error('ffmpeg did not start listening for the call’s media');
      await sleep(50);
    }
    this.#ready = true;
    this.startedAt = Date.now();
    void ffmpeg.exited.then((exit) => {
      if (this.#stopped) return;
      this.#stopped = true;
      void this.#teardown().finally(() => this.onFailure(exit));
    });
    this.#sendStillFrame(this.startedAt);
    this.#timers.push(setInterval(() => this.#audioTick(), AUDIO_FRAME_MS));
    this.#timers.push(setInterval(() => this.#videoTick(), VIDEO_TICK_MS));
    this.room.media.on('producer', this.#onProducer);
    this.room.media.on('activespeaker', this.#onSpeaker);
    for (const producer of this.room.producers()) void this.#add(producer);
    this.#logger.info({ pid: ffmpeg.pid, file: this.file }, 'recording started');
  }

  readonly #onProducer = (producer: RoomProducer) => void this.#add(producer);

  readonly #onSpeaker = (peerId: string | null) => {
    this.#activeSpeaker = peerId;
    if (peerId === null) return;
    this.#lastSpoke.set(peerId, Date.now());
    // The speaker's microphone gets a slot, if need be the one whose speaker spoke longest ago.
    for (const input of this.#inputs.values()) {
      if (input.kind !== 'audio' || input.peerId !== peerId || input.slot !== null) continue;
      if (this.#giveSlot(input)) continue;
      const spoke = (slot: AudioSlot) => this.#lastSpoke.get(slot.input?.peerId ?? '') ?? 0;
      const victim = this.#slots.filter((s) => s.input?.peerId !== peerId).sort((a, b) => spoke(a) - spoke(b))[0];
      if (victim === undefined || victim.input === null) continue;
      this.#releaseSlot(victim);
      this.#giveSlot(input);
    }
    this.#chooseVideo();
  };

  async #add({ producer, peerId, source }: RoomProducer): Promise<void> {
    if (this.#stopped || this.#inputs.has(producer.id) || producer.closed) return;
    const kind = producer.kind;
    if (kind === 'video' && source !== 'camera' && source !== 'screen') return;
    const mimeType = kind === 'audio' ? 'audio/opus' : 'video/vp8';
    const codec = this.room.router.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === mimeType);
    const rtpCapabilities: types.RtpCapabilities = { codecs: codec === undefined ? [] : [codec], headerExtensions: [] };
    if (codec === undefined || !this.room.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      this.#logger.info({ producerId: producer.id, peerId, source }, 'not recorded: only Opus and VP8 are recorded');
      return;
    }
    let consumer: types.Consumer;
    try {
      consumer = await this.#transport.consume({
        producerId: producer.id,
        rtpCapabilities,
        paused: true,
        appData: { recording: true },
      });
    } catch (err) {
      if (!this.#stopped) this.#logger.warn({ err, producerId: producer.id }, 'could not record a track');
      return;
    }
    if (this.#stopped) {
      consumer.close();
      return;
    }
    const input: RecordedInput = {
      producerId: producer.id,
      peerId,
      kind,
      source,
      consumer,
      flowing: false,
      lastPacketAt: 0,
      slot: null,
    };
    this.#inputs.set(producer.id, input);
    consumer.on('rtp', (packet) => this.#onRtp(input, packet));
    consumer.on('producerclose', () => this.#remove(input));
    consumer.on('transportclose', () => this.#remove(input));
    if (kind === 'video') {
      consumer.on('producerpause', () => this.#chooseVideo());
      consumer.on('producerresume', () => this.#chooseVideo());
      this.#chooseVideo();
    } else if (!this.#giveSlot(input) && input.peerId === this.#activeSpeaker) {
      this.#onSpeaker(input.peerId);
    }
  }

  #remove(input: RecordedInput): void {
    if (this.#inputs.get(input.producerId) !== input) return;
    this.#inputs.delete(input.producerId);
    if (input.kind === 'audio') {
      if (input.slot === null) return;
      this.#releaseSlot(input.slot);
      // A microphone that waited for a slot takes it: the most recent speaker first.
      const waiting = [...this.#inputs.values()]
        .filter((i) => i.kind === 'audio' && i.slot === null)
        .sort((a, b) => (this.#lastSpoke.get(b.peerId) ?? 0) - (this.#lastSpoke.get(a.peerId) ?? 0));
      if (waiting[0] !== undefined) this.#giveSlot(waiting[0]);
      return;
    }
    if (this.#target === input) this.#target = null;
    if (this.#current === input) this.#current = null;
    this.#chooseVideo();
  }

  #setFlowing(input: RecordedInput, flowing: boolean): void {
    if (input.flowing === flowing || input.consumer.closed) return;
    input.flowing = flowing;
    void (flowing ? input.consumer.resume() : input.consumer.pause()).catch(() => undefined);
  }

  #giveSlot(input: RecordedInput): boolean {
    const free = this.#slots.find((slot) => slot.input === null);
    if (free === undefined) return false;
    free.input = input;
    input.slot = free;
    this.#setFlowing(input, true);
    return true;
  }

  #releaseSlot(slot: AudioSlot): void {
    if (slot.input === null) return;
    this.#setFlowing(slot.input, false);
    slot.input.slot = null;
    slot.input = null;
  }

  #onRtp(input: RecordedInput, packet: Buffer): void {
    if (!this.#ready) return;
    const now = Date.now();
    input.lastPacketAt = now;
    if (input.kind === 'audio') {
      const slot = input.slot;
      if (slot === null) return;
      slot.output.forward(packet, input.producerId, AUDIO_FRAME_TICKS);
      slot.lastRealAt = now;
      slot.silenceDue = null;
      return;
    }
    if (input === this.#current) {
      this.#video.forward(packet, input.producerId);
      return;
    }
    if (input === this.#target && startsVp8KeyFrame(packet)) {
      const previous = this.#current;
      this.#current = input;
      this.#shownSince = now;
      this.#keyFrameAskedAt = now;
      this.#video.forward(packet, input.producerId);
      if (previous !== null && previous !== this.#target) this.#setFlowing(previous, false);
    }
  }

  /** Silence into every slot nobody is speaking into, 20 ms at a time (ffmpeg's mixer waits for every input). */
  #audioTick(): void {
    const now = Date.now();
    for (const slot of this.#slots) {
      if (slot.lastRealAt !== null && now - slot.lastRealAt <= SILENCE_AFTER_MS) continue;
      slot.silenceDue ??= slot.lastRealAt === null ? now : slot.lastRealAt + AUDIO_FRAME_MS;
      // After a stall of the event loop, do not burst more than a second of silence.
      if (now - slot.silenceDue > 1_000) slot.silenceDue = now - 1_000;
      while (slot.silenceDue <= now) {
        slot.output.emit([OPUS_SILENCE_FRAME], { step: AUDIO_FRAME_TICKS, byElapsedTime: false, marker: false });
        slot.silenceDue += AUDIO_FRAME_MS;
      }
    }
  }

  /** Which video to show: a screen share, else the active speaker's camera (after MIN_SHOT_MS), else what is shown. */
  #chooseVideo(): void {
    const now = Date.now();
    const live = [...this.#inputs.values()].filter(
      (i) => i.kind === 'video' && !i.consumer.closed && !i.consumer.producerPaused,
    );
    const shown =
      this.#current !== null && live.includes(this.#current)
        ? this.#current
        : this.#target !== null && live.includes(this.#target)
          ? this.#target
          : null;
    const screens = live.filter((i) => i.source === 'screen');
    let want: RecordedInput | null;
    if (screens.length > 0) {
      want = shown !== null && screens.includes(shown) ? shown : screens.at(-1)!;
    } else {
      const speaker = live.find((i) => i.peerId === this.#activeSpeaker) ?? null;
      const tooSoon = shown !== null && shown === this.#current && now - this.#shownSince < MIN_SHOT_MS;
      want = speaker !== null && !tooSoon ? speaker : (shown ?? speaker ?? live[0] ?? null);
    }
    if (want === this.#target) return;
    const before = this.#target;
    this.#target = want;
    if (before !== null && before !== this.#current) this.#setFlowing(before, false);
    if (want !== null && want !== this.#current) {
      this.#setFlowing(want, true);
      this.#askKeyFrame(want, now);
    }
  }

  #askKeyFrame(input: RecordedInput, now: number): void {
    this.#keyFrameAskedAt = now;
    void input.consumer.requestKeyFrame().catch(() => undefined);
  }

  #sendStillFrame(now: number): void {
    this.#stillAt = now;
    this.#video.emit(this.#stillFrame, { step: 3_000, byElapsedTime: true, marker: true });
  }

  #videoTick(): void {
    const now = Date.now();
    this.#chooseVideo();
    const current = this.#current;
    if (
      current !== null &&
      (current.consumer.closed || current.consumer.producerPaused || now - current.lastPacketAt > VIDEO_STALL_MS)
    ) {
      this.#current = null;
      if (current !== this.#target) this.#setFlowing(current, false);
    }
    if (this.#current === null && now - this.#stillAt >= STILL_FRAME_EVERY_MS) this.#sendStillFrame(now);
    const target = this.#target;
    if (target !== null && target !== this.#current && now - this.#keyFrameAskedAt >= KEY_FRAME_RETRY_MS) {
      this.#askKeyFrame(target, now);
    }
    if (this.#current !== null && now - this.#keyFrameAskedAt >= KEY_FRAME_EVERY_MS) {
      this.#askKeyFrame(this.#current, now);
    }
  }

  /** Finishes the file: ffmpeg is asked to stop while the streams keep flowing (it reads 'q' between packets). */
  stop(): Promise<RecorderExit> {
    this.#stopping ??= (async () => {
      this.#stopped = true;
      this.room.media.off('producer', this.#onProducer);
      this.room.media.off('activespeaker', this.#onSpeaker);
      const exit = await this.#process!.stop();
      await this.#teardown();
      this.#logger.info({ code: exit.code, signal: exit.signal, file: this.file }, 'recording stopped');
      return exit;
    })();
    return this.#stopping;
  }

  async #teardown(): Promise<void> {
    this.#ready = false;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    this.room.media.off('producer', this.#onProducer);
    this.room.media.off('activespeaker', this.#onSpeaker);
    if (!this.#transport.closed) this.#transport.close();
    this.#inputs.clear();
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    await rm(this.#sdpFile, { force: true });
  }

  /** What flows now, for the logs and tests: the shown video's producer and each slot's. */
  state(): { video: string | null; audio: (string | null)[] } {
    return {
      video: this.#current?.producerId ?? null,
      audio: this.#slots.map((slot) => slot.input?.producerId ?? null),
    };
  }
}

export interface RecordingConfig {
  dir: string;
  retentionDays: number;
  ffmpegPath: string;
}

interface ActiveRecording {
  id: string;
  meetingId: string;
  recorder: CallRecorder;
  onRoomClose: () => void;
  finishing: Promise<RecordingView> | null;
}

const DAY_MS = 86_400_000;
const URL_TTL_MS = 5 * 60_000;
const CLEANUP_EVERY_MS = 60 * 60_000;
/** A 'recording' row whose file has not changed for this long belongs to a recorder that is gone. */
const INTERRUPTED_AFTER_MS = 2 * 60_000;

const lastLine = (log: string) => log.split('\n').filter(Boolean).at(-1) ?? 'no message';

/** A file name for the download: the meeting's title and the day, without characters file systems refuse. */
function downloadName(title: string, startedAt: number): string {
  // eslint-disable-next-line no-control-regex
  const safe = title.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, ' ').trim() || 'Call';
  const day = new Date(startedAt).toISOString().slice(0, 16).replace('T', ' ').replace(':', '-');
  return `${safe} ${day}.webm`;
}

/**
 * Recordings of a server: start/stop (host only), list and signed URLs
 * (participants only), the files on disk and their retention. Files live
 * under `<dir>/<meetingId>/<recordingId>.webm` on the node that recorded.
 */
export class RecordingService {
  readonly #config: RecordingConfig;
  readonly #db: RecordingsDb;
  readonly #meetingsDb: Kysely<Database>;
  readonly #logger: Logger;
  readonly #calls: { runningRoom(meetingId: string): CallRoom | undefined };
  readonly #history: CallHistory;
  readonly #active = new Map<string, ActiveRecording>();
  readonly #starting = new Set<string>();
  /** Signs playback URLs: per process, so a URL lasts at most until a restart (it lasts 5 minutes anyway). */
  readonly #urlKey = randomBytes(32);
  #cleanupTimer: NodeJS.Timeout | null = null;
  #cleanupRun: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    config: RecordingConfig,
    db: Kysely<Database>,
    logger: Logger,
    calls: { runningRoom(meetingId: string): CallRoom | undefined },
    history: CallHistory,
  ) {
    this.#config = config;
    this.#meetingsDb = db;
    this.#db = recordingsDb(db);
    this.#logger = logger.child({ component: 'recording' });
    this.#calls = calls;
    this.#history = history;
  }

  isRecording(meetingId: string): boolean {
    return this.#active.has(meetingId);
  }

  /** The recorder of a meeting's running recording (tests and status). */
  recorderOf(meetingId: string): CallRecorder | undefined {
    return this.#active.get(meetingId)?.recorder;
  }

  #view(row: Parameters<typeof recordingView>[0]): RecordingView {
    return recordingView(row, this.#config.retentionDays);
  }

  async #host(userId: string, meetingId: string) {
    const { role, meeting } = await requireParticipant({ db: this.#meetingsDb }, meetingId, userId);
    if (role !== 'host') throw new AppError('FORBIDDEN', { message: 'Only the host can start or stop recording.' });
    return meeting;
  }

  async #displayName(userId: string): Promise<string | null> {
    const user = await this.#db.selectFrom('users').select('display_name').where('id', '=', userId).executeTakeFirst();
    return user?.display_name ?? null;
  }

  async start(userId: string, meetingId: string): Promise<RecordingView> {
    const meeting = await this.#host(userId, meetingId);
    if (meeting.ended_at !== null) {
      throw new AppError('PRECONDITION_FAILED', { message: 'This meeting has ended.', details: { reason: 'ended' } });
    }
    const problem = await ffmpegProblem(this.#config.ffmpegPath);
    if (problem !== null) {
      this.#logger.warn({ problem }, 'recording is unavailable');
      throw new AppError('FEATURE_UNAVAILABLE', {
        message:
          'Recording is not available on this server: it needs ffmpeg with Opus and VP8 support ' +
          '(install the ffmpeg package, or set CALLS_FFMPEG_PATH).',
        details: { feature: 'recording' },
      });
    }
    const room = this.#calls.runningRoom(meetingId);
    if (room === undefined) {
      throw new AppError('PRECONDITION_FAILED', {
        message: 'There is no call running in this meeting to record. Join the call first.',
        details: { reason: 'no-call' },
      });
    }
    if (this.#active.has(meetingId) || this.#starting.has(meetingId)) {
      throw new AppError('CONFLICT', { message: 'This call is already being recorded.' });
    }
    if (this.#closed) throw new AppError('SERVICE_UNAVAILABLE');
    this.#starting.add(meetingId);
    try {
      const id = newId();
      const fileName = `${id}.webm`;
      const dir = join(this.#config.dir, meetingId);
      const file = join(dir, fileName);
      await mkdir(dir, { recursive: true });
      await insertRecording(this.#db, {
        id,
        meeting_id: meetingId,
        session_id: this.#history.sessionOf(meetingId),
        started_by: userId,
        started_at: Date.now(),
        ended_at: null,
        duration_ms: null,
        size_bytes: null,
        file_name: fileName,
        status: 'recording',
        error: null,
      });
      let recorder: CallRecorder;
      try {
        recorder = await CallRecorder.start(room, { ffmpegPath: this.#config.ffmpegPath, file, logger: this.#logger });
      } catch (error) {
        this.#logger.error({ err: error, meetingId }, 'recording could not start');
        await rm(file, { force: true });
        await updateRecording(this.#db, id, {
          status: 'failed',
          ended_at: Date.now(),
          error: `The recorder could not start: ${error instanceof Error ? error.message : String(error)}`.slice(
            0,
            1_000,
          ),
        });
        throw new AppError('SERVICE_UNAVAILABLE', {
          message: 'The recording could not start. Try again in a moment.',
          cause: error,
        });
      }
      const active: ActiveRecording = {
        id,
        meetingId,
        recorder,
        finishing: null,
        onRoomClose: () => void this.#finish(active, { by: null }),
      };
      this.#active.set(meetingId, active);
      recorder.onFailure = (exit) => void this.#finish(active, { by: null, failure: exit });
      room.media.once('close', active.onRoomClose);
      if (room.closed) active.onRoomClose();
      else {
        room.announce({
          type: 'recording',
          state: 'started',
          recordingId: id,
          by: userId,
          byName: await this.#displayName(userId),
        });
      }
      return this.#view((await findRecording(this.#db, id))!);
    } finally {
      this.#starting.delete(meetingId);
    }
  }

  async stop(userId: string, meetingId: string): Promise<RecordingView> {
    await this.#host(userId, meetingId);
    const active = this.#active.get(meetingId);
    if (active === undefined) {
      throw new AppError('PRECONDITION_FAILED', {
        message: 'Nothing is being recorded in this meeting.',
        details: { reason: 'not-recording' },
      });
    }
    return this.#finish(active, { by: userId });
  }

  /** Stops a recording (once, whoever asks) and records how it ended. */
  #finish(active: ActiveRecording, how: { by: string | null; failure?: RecorderExit }): Promise<RecordingView> {
    active.finishing ??= (async () => {
      if (this.#active.get(active.meetingId) === active) this.#active.delete(active.meetingId);
      const { recorder } = active;
      recorder.room.media.off('close', active.onRoomClose);
      const exit = how.failure ?? (await recorder.stop());
      const endedAt = Date.now();
      const size = await stat(recorder.file).then(
        (s) => s.size,
        () => null,
      );
      let error: string | null = null;
      if (how.failure !== undefined) error = `The recorder stopped unexpectedly: ${lastLine(exit.log)}`;
      else if (size === null || size < 1_024) error = `The recording has no media: ${lastLine(exit.log)}`;
      if (error === null) {
        await updateRecording(this.#db, active.id, {
          status: 'ready',
          ended_at: endedAt,
          duration_ms: endedAt - recorder.startedAt,
          size_bytes: size,
        });
      } else {
        this.#logger.error({ meetingId: active.meetingId, recordingId: active.id, log: exit.log }, 'recording failed');
        await rm(recorder.file, { force: true });
        await updateRecording(this.#db, active.id, {
          status: 'failed',
          ended_at: endedAt,
          error: error.slice(0, 1_000),
        });
      }
      if (!recorder.room.closed) {
        recorder.room.announce({
          type: 'recording',
          state: 'stopped',
          recordingId: active.id,
          by: how.by,
          byName: how.by === null ? null : await this.#displayName(how.by),
        });
      }
      return this.#view((await findRecording(this.#db, active.id))!);
    })();
    active.finishing.catch((err: unknown) =>
      this.#logger.error({ err, recordingId: active.id }, 'could not finish a recording'),
    );
    return active.finishing;
  }

  /** A meeting's recordings, newest first (its participants only). */
  async list(userId: string, meetingId: string): Promise<RecordingView[]> {
    await requireParticipant({ db: this.#meetingsDb }, meetingId, userId);
    return (await meetingRecordings(this.#db, meetingId)).map((row) => this.#view(row));
  }

  /** The recording's row and meeting, for a participant of that meeting; NOT_FOUND for anyone else. */
  async #readable(userId: string, recordingId: string) {
    const row = await findRecording(this.#db, recordingId);
    const notFound = new AppError('NOT_FOUND', {
      message: 'There is no such recording, or it is not from one of your meetings.',
    });
    if (row === undefined) throw notFound;
    let meeting;
    try {
      ({ meeting } = await requireParticipant({ db: this.#meetingsDb }, row.meeting_id, userId));
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw notFound;
      throw error;
    }
    if (row.status !== 'ready') {
      throw new AppError('PRECONDITION_FAILED', {
        message:
          row.status === 'recording'
            ? 'This recording is still being made.'
            : 'This recording failed: there is no file.',
        details: { reason: row.status },
      });
    }
    return { row, meeting };
  }

  #sign(recordingId: string, userId: string, expiresAt: number): string {
    return createHmac('sha256', this.#urlKey)
      .update(`recording\n${recordingId}\n${userId}\n${expiresAt}`)
      .digest('base64url');
  }

  /** A URL for a <video> element or a download link: 5 minutes, this user, this recording. */
  async url(userId: string, recordingId: string, download: boolean, origin: string): Promise<RecordingUrl> {
    await this.#readable(userId, recordingId);
    const expiresAt = Date.now() + URL_TTL_MS;
    const token = `${userId}.${expiresAt}.${this.#sign(recordingId, userId, expiresAt)}`;
    return {
      url: `${origin}/recordings/${encodeURIComponent(recordingId)}?t=${token}${download ? '&download=1' : ''}`,
      expiresAt: new Date(expiresAt),
    };
  }

  /** The user a URL token was made for, if it is genuine, for this recording, and not expired. */
  verifyToken(recordingId: string, token: string, now = Date.now()): { userId: string } | { problem: string } {
    const [userId, expires, signature] = token.split('.');
    const expiresAt = Number(expires);
    if (userId === undefined || signature === undefined || !Number.isSafeInteger(expiresAt)) {
      return { problem: 'This link is not valid.' };
    }
    const expected = Buffer.from(this.#sign(recordingId, userId, expiresAt));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { problem: 'This link is not valid.' };
    }
    if (now > expiresAt) return { problem: 'This link has expired. Open the recording again.' };
    return { userId };
  }

  /** The file of a ready recording the user may read, with the name to download it as. */
  async file(userId: string, recordingId: string): Promise<{ path: string; size: number; name: string }> {
    const { row, meeting } = await this.#readable(userId, recordingId);
    const path = join(this.#config.dir, row.meeting_id, row.file_name);
    const info = await stat(path).catch(() => null);
    if (info === null || !info.isFile()) {
      throw new AppError('NOT_FOUND', { message: 'The file of this recording is no longer on this server.' });
    }
    return { path, size: info.size, name: downloadName(meeting.title, row.started_at) };
  }

  /** Runs the retention clean-up now and then every hour (timer unref'd) until `stop`. */
  startCleanup(): { stop(): void } {
    const run = () => {
      this.#cleanupRun = this.#sweep().catch((err: unknown) => this.#logger.warn({ err }, 'recording clean-up failed'));
    };
    if (this.#cleanupTimer === null) {
      run();
      this.#cleanupTimer = setInterval(run, CLEANUP_EVERY_MS).unref();
    }
    return {
      stop: () => {
        if (this.#cleanupTimer !== null) clearInterval(this.#cleanupTimer);
        this.#cleanupTimer = null;
      },
    };
  }

  async #sweep(): Promise<void> {
    await this.recoverInterrupted();
    const deleted = await this.cleanupExpired();
    if (deleted > 0) this.#logger.info({ deleted }, 'deleted expired recordings');
  }

  /**
   * Rows left 'recording' by a recorder that is gone (the server stopped
   * abruptly): the file holds what was recorded, playable but perhaps not
   * seekable, so it is kept as ready with a note; without a file it failed.
   */
  async recoverInterrupted(now = Date.now()): Promise<number> {
    const active = new Set([...this.#active.values()].map((a) => a.id));
    let recovered = 0;
    for (const row of await unfinishedRecordings(this.#db)) {
      if (active.has(row.id)) continue;
      const info = await stat(this.#path(row)).catch(() => null);
      if (info !== null && now - info.mtimeMs > INTERRUPTED_AFTER_MS) {
        const endedAt = Math.round(info.mtimeMs);
        await updateRecording(this.#db, row.id, {
          status: info.size >= 1_024 ? 'ready' : 'failed',
          ended_at: endedAt,
          duration_ms: Math.max(0, endedAt - row.started_at),
          size_bytes: info.size,
          error: 'The server stopped while recording: the end of the call is missing and seeking may not work.',
        });
        recovered += 1;
      } else if (info === null && now - row.started_at > DAY_MS) {
        // Another node's, or lost: after a day it is not coming back.
        await updateRecording(this.#db, row.id, {
          status: 'failed',
          ended_at: row.started_at,
          error: 'The recording was interrupted and its file is not on this server.',
        });
        recovered += 1;
      }
    }
    return recovered;
  }

  #path(row: Pick<RecordingsTable, 'meeting_id' | 'file_name'>): string {
    return join(this.#config.dir, row.meeting_id, row.file_name);
  }

  /** Deletes recordings (file and row) that started more than the retention period before `now`. */
  async cleanupExpired(now = Date.now()): Promise<number> {
    if (this.#config.retentionDays === 0) return 0;
    const before = now - this.#config.retentionDays * DAY_MS;
    const active = new Set([...this.#active.values()].map((a) => a.id));
    let deleted = 0;
    for (;;) {
      const rows = (await recordingsStartedBefore(this.#db, before)).filter((row) => !active.has(row.id));
      if (rows.length === 0) break;
      for (const row of rows) {
        await rm(this.#path(row), { force: true });
        await rm(`${this.#path(row)}.sdp`, { force: true });
        await deleteRecordingRow(this.#db, row.id);
        deleted += 1;
        const dir = join(this.#config.dir, row.meeting_id);
        if ((await readdir(dir).catch(() => null))?.length === 0) await rmdir(dir).catch(() => undefined);
      }
    }
    return deleted;
  }

  /** Server stop: every recording is finished cleanly (before the rooms close), the clean-up stops. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#cleanupTimer !== null) clearInterval(this.#cleanupTimer);
    this.#cleanupTimer = null;
    await Promise.allSettled([...this.#active.values()].map((active) => this.#finish(active, { by: null })));
    await this.#cleanupRun;
  }
}
