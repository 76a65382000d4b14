/**
 * Recording over a real server, real mediasoup and real ffmpeg. No browser
 * here: each "participant" sends real media into the room the way
 * mediasoup-demo's broadcaster does — an ffmpeg encoding a test picture and
 * a tone to RTP, received by a PlainTransport (comedia) whose producer joins
 * the room as that participant's camera and microphone. The file is then
 * checked with ffprobe: its duration and streams, that the picture followed
 * the active speaker, that the sound is not silence.
 *
 * Skipped, saying why, when ffmpeg is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { types } from 'mediasoup';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../shared/calls.ts';
import { apiClient, mailedCode, mailTo, refusalOf } from '../../tests/support/api.ts';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import type { AppRouter } from '../router.ts';
import type { CallPeer, CallRoom } from './room.ts';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).status !== 0 || spawnSync('ffprobe', ['-version']).status !== 0;
if (ffmpegMissing) console.warn('recording.test.ts skipped: ffmpeg/ffprobe are not installed (apt-get install ffmpeg)');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (up to 8 s: the machine may be busy) until `read` gives `want`, and returns what it gave last. */
async function until<T>(read: () => T, want: T): Promise<T> {
  let value = read();
  for (let waited = 0; waited < 8_000 && value !== want; waited += 50) {
    await sleep(50);
    value = read();
  }
  return value;
}

let smtp: TestSmtpServer;
let server: TestServer;
let noFfmpeg: TestServer;
const senders: ChildProcess[] = [];

beforeAll(async () => {
  if (ffmpegMissing) return;
  smtp = await startTestSmtpServer();
  [server, noFfmpeg] = await Promise.all([
    startTestServer({ ...mailTo(smtp), CALLS_WORKERS: '1', CALLS_PORT: '0' }),
    startTestServer({ ...mailTo(smtp), CALLS_WORKERS: '1', CALLS_PORT: '0', CALLS_FFMPEG_PATH: '/nonexistent/ffmpeg' }),
  ]);
}, 60_000);
afterAll(async () => {
  for (const sender of senders) sender.kill('SIGKILL');
  await server?.dispose();
  await noFfmpeg?.dispose();
  await smtp?.close();
});

let counter = 0;
async function newUser(on: TestServer, name: string) {
  const email = `${name}-${++counter}-${Date.now()}@example.com`;
  const anonymous = apiClient(on.url);
  await anonymous.auth.signUp.mutate({ email, password: 'correct horse battery staple', displayName: name });
  const tokens = await anonymous.auth.verifyEmail.mutate({ email, code: await mailedCode(smtp, email, /Confirm/) });
  const api = apiClient(on.url, { accessToken: tokens.accessToken });
  const me = await api.auth.me.query();
  return { email, id: me.id, accessToken: tokens.accessToken, api };
}
type User = Awaited<ReturnType<typeof newUser>>;

/** A peer's call events over WebSocket; `next(type)` waits for the next one of that type. */
function listen(on: TestServer, user: User, meetingId: string, peerId: string) {
  const ws = createWSClient({
    url: `${on.url.replace('http', 'ws')}/trpc`,
    connectionParams: () => ({ accessToken: user.accessToken }),
  });
  const live = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer: superjson })] });
  const events: CallEvent[] = [];
  let seen = 0;
  const subscription = live.calls.events.subscribe({ meetingId, peerId }, { onData: (event) => events.push(event) });
  return {
    async next<T extends CallEvent['type']>(type: T): Promise<Extract<CallEvent, { type: T }>> {
      for (let waited = 0; waited < 10_000; waited += 50) {
        const index = events.findIndex((e, i) => i >= seen && e.type === type);
        if (index !== -1) {
          seen = index + 1;
          return events[index] as Extract<CallEvent, { type: T }>;
        }
        await sleep(50);
      }
      throw new Error(`no ${type} event`);
    },
    close() {
      subscription.unsubscribe();
      void ws.close();
    },
  };
}

async function joinCall(on: TestServer, user: User, meetingId: string) {
  const { routerRtpCapabilities } = await user.api.calls.prepare.mutate({ meetingId });
  return user.api.calls.join.mutate({ meetingId, rtpCapabilities: routerRtpCapabilities });
}

/**
 * Real media as `peer`'s camera and microphone: PlainTransports with comedia
 * (they learn ffmpeg's address from its first packet) registered as the
 * peer's send transports, so the room produces, announces and records them
 * exactly as a browser's.
 */
async function sendMedia(room: CallRoom, peer: CallPeer, picture: { width: number; height: number; tone: number }) {
  const plain = () =>
    room.router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: false,
      comedia: true,
    });
  const [videoTransport, audioTransport] = await Promise.all([plain(), plain()]);
  for (const transport of [videoTransport, audioTransport]) {
    peer.transports.set(transport.id, { transport: transport as unknown as types.WebRtcTransport, direction: 'send' });
  }
  const videoSsrc = 1_000 + Math.floor(Math.random() * 1_000_000);
  const audioSsrc = videoSsrc + 1;
  const camera = await room.produce(peer, {
    transportId: videoTransport.id,
    kind: 'video',
    source: 'camera',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90_000 }],
      encodings: [{ ssrc: videoSsrc }],
    },
  });
  const microphone = await room.produce(peer, {
    transportId: audioTransport.id,
    kind: 'audio',
    source: 'microphone',
    rtpParameters: {
      codecs: [
        { mimeType: 'audio/opus', payloadType: 100, clockRate: 48_000, channels: 2, parameters: { 'sprop-stereo': 1 } },
      ],
      encodings: [{ ssrc: audioSsrc }],
    },
  });
  const target = (t: types.PlainTransport) =>
    `rtp://127.0.0.1:${t.tuple.localPort}?rtcpport=${t.rtcpTuple!.localPort}&pkt_size=1200`;
  // A key frame every second: ffmpeg's RTP output does not answer key frame requests.
  const sender = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi'],
      ...['-i', `testsrc=size=${picture.width}x${picture.height}:rate=30`],
      ...['-re', '-f', 'lavfi', '-i', `sine=frequency=${picture.tone}:sample_rate=48000`],
      ...['-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k'],
      ...['-g', '30', '-keyint_min', '30', '-pix_fmt', 'yuv420p'],
      ...['-ssrc', String(videoSsrc), '-payload_type', '101', '-f', 'rtp', target(videoTransport)],
      ...['-map', '1:a', '-c:a', 'libopus', '-ac', '2', '-ar', '48000', '-b:a', '48k'],
      ...['-ssrc', String(audioSsrc), '-payload_type', '100', '-f', 'rtp', target(audioTransport)],
    ],
    { stdio: 'ignore' },
  );
  senders.push(sender);
  return { camera: camera.producerId, microphone: microphone.producerId, stop: () => sender.kill('SIGKILL') };
}

function ffprobe(file: string, args: string[]): string {
  const result = spawnSync('ffprobe', ['-v', 'error', ...args, file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ffprobe failed: ${result.stderr}`);
  return result.stdout;
}

/** The mean loudness of a file's sound, in dB (silence is about -91). */
function meanVolume(file: string): number {
  const result = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-i', file, '-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-'],
    {
      encoding: 'utf8',
    },
  );
  const match = /mean_volume: (-?[\d.]+) dB/.exec(result.stderr);
  if (match === null) throw new Error(`no volume: ${result.stderr}`);
  return Number(match[1]);
}

const fileOf = (on: TestServer, meetingId: string, recordingId: string) =>
  join(on.dataDir, 'recordings', meetingId, `${recordingId}.webm`);

describe.skipIf(ffmpegMissing)('recording a call', () => {
  it('records 5 s of the active speaker’s video and everyone’s sound through joins, a mute and a leave', async () => {
    const [alice, bob, eve] = await Promise.all([
      newUser(server, 'Alice'),
      newUser(server, 'Bob'),
      newUser(server, 'Eve'),
    ]);
    const meeting = await alice.api.meetings.create.mutate({ title: 'Design review', invitees: [bob.email] });
    const meetingId = meeting.id;

    // No call yet: nothing to record.
    expect(await refusalOf(alice.api.calls.recording.start.mutate({ meetingId }))).toBe('PRECONDITION_FAILED');

    const aliceIn = await joinCall(server, alice, meetingId);
    expect(aliceIn.recording).toBe(false);
    const aliceEvents = listen(server, alice, meetingId, aliceIn.peerId);
    const room = server.deps.calls.runningRoom(meetingId)!;
    const aliceMedia = await sendMedia(room, room.peers.get(aliceIn.peerId)!, {
      width: 640,
      height: 360,
      tone: 440,
    });

    // Only the host starts; someone outside the meeting learns nothing.
    expect(await refusalOf(eve.api.calls.recording.start.mutate({ meetingId }))).toBe('NOT_FOUND');
    expect(await refusalOf(bob.api.calls.recording.start.mutate({ meetingId }))).toBe('FORBIDDEN');

    await sleep(500);
    const started = await alice.api.calls.recording.start.mutate({ meetingId });
    const t0 = Date.now();
    expect(started).toMatchObject({ status: 'recording', meetingId, startedBy: { userId: alice.id } });
    expect(await refusalOf(alice.api.calls.recording.start.mutate({ meetingId }))).toBe('CONFLICT');
    expect(await aliceEvents.next('recording')).toMatchObject({
      state: 'started',
      recordingId: started.id,
      by: alice.id,
      byName: 'Alice',
    });
    const recorder = server.deps.calls.recordings.recorderOf(meetingId)!;
    expect(await until(() => recorder.state().video, aliceMedia.camera)).toBe(aliceMedia.camera);

    // Bob joins mid-recording: he is told it is being recorded; his media joins the recording.
    await sleep(600);
    const bobIn = await joinCall(server, bob, meetingId);
    expect(bobIn.recording).toBe(true);
    const bobMedia = await sendMedia(room, room.peers.get(bobIn.peerId)!, { width: 320, height: 180, tone: 880 });
    const slots = () => recorder.state().audio.filter((p) => p !== null).length;
    expect(await until(slots, 2)).toBe(2);
    expect(recorder.state().audio).toEqual(expect.arrayContaining([aliceMedia.microphone, bobMedia.microphone]));
    expect(recorder.state().video).toBe(aliceMedia.camera);

    // Bob speaks: the picture switches to his camera at his next key frame.
    room.media.emit('activespeaker', bobIn.peerId);
    expect(await until(() => recorder.state().video, bobMedia.camera)).toBe(bobMedia.camera);

    // Alice mutes; then Bob leaves: the picture goes back to Alice, the file goes on.
    await sleep(500);
    await room.setProducerPaused(room.peers.get(aliceIn.peerId)!, aliceMedia.microphone, true);
    await sleep(300);
    expect(await refusalOf(bob.api.calls.recording.stop.mutate({ meetingId }))).toBe('FORBIDDEN');
    await bob.api.calls.leave.mutate({ meetingId, peerId: bobIn.peerId });
    bobMedia.stop();
    expect(await until(() => recorder.state().video, aliceMedia.camera)).toBe(aliceMedia.camera);

    await sleep(Math.max(0, 5_000 - (Date.now() - t0)));
    // 5 s, unless the steps above took longer on a busy machine: the file must last as long as the recording did.
    const seconds = (Date.now() - t0) / 1000;
    const stopped = await alice.api.calls.recording.stop.mutate({ meetingId });
    expect(await aliceEvents.next('recording')).toMatchObject({ state: 'stopped', recordingId: started.id });
    expect(stopped.status).toBe('ready');
    expect(Math.abs(stopped.durationMs! / 1000 - seconds)).toBeLessThan(1.5);
    expect(stopped.sizeBytes).toBeGreaterThan(10_000);
    expect(stopped.expiresAt!.getTime() - stopped.startedAt.getTime()).toBe(30 * 86_400_000);

    const file = fileOf(server, meetingId, started.id);
    const probe = JSON.parse(
      ffprobe(file, ['-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json']),
    ) as { format: { duration: string }; streams: { codec_type: string; codec_name: string }[] };
    console.info(`recording.test.ts: recorded for ${seconds.toFixed(2)} s; ffprobe says`, JSON.stringify(probe));
    expect(Math.abs(Number(probe.format.duration) - seconds)).toBeLessThan(1.5);
    expect(probe.streams.map((s) => [s.codec_type, s.codec_name]).sort()).toEqual([
      ['audio', 'opus'],
      ['video', 'vp8'],
    ]);
    // The picture was Alice's (640x360), then Bob's (320x180), then Alice's again.
    const sizes = ffprobe(file, ['-select_streams', 'v', '-show_entries', 'frame=width,height', '-of', 'csv=p=0'])
      .trim()
      .split('\n');
    const runs = sizes.filter((size, i) => size !== sizes[i - 1]);
    const alices = sizes.filter((s) => s.startsWith('640,360')).length;
    const bobs = sizes.filter((s) => s.startsWith('320,180')).length;
    console.info(`recording.test.ts: video frames ${alices} at 640x360, ${bobs} at 320x180:`, runs.join(' → '));
    // Fewer than the 30 fps sent when the machine is busy: the senders' encoders slow down.
    expect(alices).toBeGreaterThan(15);
    expect(bobs).toBeGreaterThan(5);
    expect(sizes.findLastIndex((s) => s.startsWith('640,360'))).toBeGreaterThan(
      sizes.findLastIndex((s) => s.startsWith('320,180')),
    );
    // Two tones mixed: clearly not silence.
    expect(meanVolume(file)).toBeGreaterThan(-40);

    // Everyone in the meeting sees it; no one else.
    expect((await bob.api.calls.recording.list.query({ meetingId })).map((r) => [r.id, r.status])).toEqual([
      [started.id, 'ready'],
    ]);
    expect(await refusalOf(eve.api.calls.recording.list.query({ meetingId }))).toBe('NOT_FOUND');

    // Call history: who was there, how long, the recording.
    aliceMedia.stop();
    await alice.api.calls.leave.mutate({ meetingId, peerId: aliceIn.peerId });
    aliceEvents.close();
    await server.deps.calls.history.flush();
    const history = await alice.api.calls.history.query({ meetingId });
    expect(history).toHaveLength(1);
    expect(history[0]!.participants.map((p) => p.displayName)).toEqual(['Alice', 'Bob']);
    expect(history[0]!.durationMs).toBeGreaterThan(5_000);
    expect(history[0]!.recordings.map((r) => r.id)).toEqual([started.id]);
    expect((await bob.api.calls.history.query()).map((h) => h.sessionId)).toContain(history[0]!.sessionId);
    expect(await eve.api.calls.history.query()).toEqual([]);
    expect(await refusalOf(eve.api.calls.history.query({ meetingId }))).toBe('NOT_FOUND');

    // Playback and download through a signed URL, with byte ranges.
    const bytes = readFileSync(file);
    expect(await refusalOf(eve.api.calls.recording.url.mutate({ recordingId: started.id }))).toBe('NOT_FOUND');
    const { url, expiresAt } = await bob.api.calls.recording.url.mutate({ recordingId: started.id });
    expect(expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/webm');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-disposition')).toMatch(/^inline; filename="Design review \d{4}-\d\d-\d\d/);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const first = await fetch(url, { headers: { range: 'bytes=0-99' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-99/${bytes.length}`);
    expect(Buffer.from(await first.arrayBuffer()).equals(bytes.subarray(0, 100))).toBe(true);
    const middle = await fetch(url, { headers: { range: `bytes=1000-` } });
    expect(middle.status).toBe(206);
    expect(Buffer.from(await middle.arrayBuffer()).equals(bytes.subarray(1000))).toBe(true);
    const tail = await fetch(url, { headers: { range: 'bytes=-50' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 50))).toBe(true);
    const beyond = await fetch(url, { headers: { range: `bytes=${bytes.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    const download = await alice.api.calls.recording.url.mutate({ recordingId: started.id, download: true });
    expect((await fetch(download.url)).headers.get('content-disposition')).toMatch(/^attachment; /);

    // The link is Bob's, for this recording, for 5 minutes: changed, moved or late, it is refused.
    const token = new URL(url).searchParams.get('t')!;
    const asEve = url.replace(`t=${bob.id}.`, `t=${eve.id}.`);
    expect((await fetch(asEve)).status).toBe(403);
    expect((await fetch(url.replace(started.id, crypto.randomUUID()))).status).toBe(403);
    expect((await fetch(url.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))).status).toBe(403);
    expect(server.deps.calls.recordings.verifyToken(started.id, token)).toEqual({ userId: bob.id });
    expect(server.deps.calls.recordings.verifyToken(started.id, token, Date.now() + 5 * 60_000 + 1)).toEqual({
      problem: expect.stringMatching(/expired/) as unknown,
    });
    // Without a link: the bearer token, for participants only.
    const path = `${server.url}/recordings/${started.id}`;
    expect((await fetch(path)).status).toBe(401);
    expect((await fetch(path, { headers: { authorization: `Bearer ${eve.accessToken}` } })).status).toBe(404);
    const withBearer = await fetch(path, {
      headers: { authorization: `Bearer ${alice.accessToken}`, range: 'bytes=10-19' },
    });
    expect(withBearer.status).toBe(206);
    expect(Buffer.from(await withBearer.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);

    // Retention: 30 days on, the file and its row are gone.
    expect(await server.deps.calls.recordings.cleanupExpired(Date.now() + 29 * 86_400_000)).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(await server.deps.calls.recordings.cleanupExpired(Date.now() + 31 * 86_400_000)).toBeGreaterThanOrEqual(1);
    expect(existsSync(file)).toBe(false);
    expect(await alice.api.calls.recording.list.query({ meetingId })).toEqual([]);
    expect((await fetch(download.url)).status).toBe(404);
  }, 90_000);

  it('stops the recording when the call closes, and says it is unavailable without ffmpeg', async () => {
    const alice = await newUser(server, 'Alice');
    const meeting = await alice.api.meetings.create.mutate({ title: 'Quick sync' });
    const aliceIn = await joinCall(server, alice, meeting.id);
    const room = server.deps.calls.runningRoom(meeting.id)!;
    const media = await sendMedia(room, room.peers.get(aliceIn.peerId)!, { width: 320, height: 240, tone: 600 });
    const started = await alice.api.calls.recording.start.mutate({ meetingId: meeting.id });
    await sleep(2_000);
    // The last one leaves: the room closes, and so does its recording.
    await alice.api.calls.leave.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId });
    media.stop();
    let status = 'recording';
    for (let i = 0; i < 100 && status === 'recording'; i++) {
      await sleep(100);
      status = (await alice.api.calls.recording.list.query({ meetingId: meeting.id }))[0]!.status;
    }
    expect(status).toBe('ready');
    const duration = Number(
      ffprobe(fileOf(server, meeting.id, started.id), ['-show_entries', 'format=duration', '-of', 'csv=p=0']),
    );
    expect(duration).toBeGreaterThan(1);
    expect(duration).toBeLessThan(4);

    const carol = await newUser(noFfmpeg, 'Carol');
    const hers = await carol.api.meetings.create.mutate({ title: 'No ffmpeg here' });
    expect(await refusalOf(carol.api.calls.recording.start.mutate({ meetingId: hers.id }))).toBe('FEATURE_UNAVAILABLE');
  }, 60_000);

  it('finishes a running recording cleanly when the server stops', async () => {
    const alice = await newUser(server, 'Alice');
    const meeting = await alice.api.meetings.create.mutate({ title: 'Late night' });
    const aliceIn = await joinCall(server, alice, meeting.id);
    const room = server.deps.calls.runningRoom(meeting.id)!;
    const media = await sendMedia(room, room.peers.get(aliceIn.peerId)!, { width: 320, height: 240, tone: 300 });
    const started = await alice.api.calls.recording.start.mutate({ meetingId: meeting.id });
    await sleep(2_000);
    await server.stop('test: shutdown while recording');
    media.stop();
    const database = new Sqlite(join(server.dataDir, 'megilance.sqlite'), { readonly: true });
    const row = database.prepare('select status, duration_ms from recordings where id = ?').get(started.id) as {
      status: string;
      duration_ms: number;
    };
    const session = database.prepare('select ended_at from call_sessions where meeting_id = ?').get(meeting.id) as {
      ended_at: number | null;
    };
    database.close();
    expect(row.status).toBe('ready');
    expect(row.duration_ms).toBeGreaterThan(1_500);
    expect(session.ended_at).not.toBeNull();
    const duration = Number(
      ffprobe(fileOf(server, meeting.id, started.id), ['-show_entries', 'format=duration', '-of', 'csv=p=0']),
    );
    expect(duration).toBeGreaterThan(1.5);
  }, 60_000);
});
