/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * The SFU end to end, on its own: Chromium's fake camera goes through a
 * mediasoup-client send transport to a real mediasoup router (this machine's
 * worker binary, see build/mediasoup-worker/), and comes back on a second,
 * receive transport in the same page, where the video must decode. This is
 * what a call does with one participant on each side, minus the app: a
 * throwaway page and an in-test signaling bridge (one exposed function per
 * step, as the app's typed procedures), so a failure here points at the
 * worker, DTLS/SRTP or ICE, not at the calls service.
 *
 * Networking: the SFU listens and announces 127.0.0.1 (UDP and TCP). Outside
 * a network namespace Chromium sends from the machine's own interface
 * address; packets to 127.0.0.1 stay on the machine either way, and the
 * worker answers whatever address a valid STUN check came from (ICE-lite).
 * --allow-loopback-in-peer-connection also lets Chromium gather loopback
 * candidates, so the test works on a machine with no interface but `lo`.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { createWorker, workerBin, type types } from 'mediasoup';
import type * as MediasoupClient from 'mediasoup-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumUnavailableReason, launchChromium, watchForErrors } from '../support/browser.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

const root = new URL('../..', import.meta.url).pathname;
/** Ports of this suite's transports; away from the unit suite's and the server's defaults. */
const portRange = { min: 47_200, max: 47_299 };

const mediaCodecs: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90_000 },
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90_000, parameters: { 'profile-id': 2 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90_000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

type TransportOptions = MediasoupClient.types.TransportOptions;
type ConsumerOptions = MediasoupClient.types.ConsumerOptions;

/** What the page may ask the SFU: one exposed function per signaling step, JSON across. */
interface SfuBridge {
  sfuRouterCapabilities: () => Promise<MediasoupClient.types.RtpCapabilities>;
  sfuCreateTransport: () => Promise<TransportOptions>;
  sfuConnect: (transportId: string, dtlsParameters: MediasoupClient.types.DtlsParameters) => Promise<void>;
  sfuProduce: (transportId: string, rtpParameters: MediasoupClient.types.RtpParameters) => Promise<string>;
  sfuConsume: (
    transportId: string,
    producerId: string,
    rtpCapabilities: MediasoupClient.types.RtpCapabilities,
  ) => Promise<ConsumerOptions>;
  sfuResume: (consumerId: string) => Promise<void>;
}

/**
 * The server's RTP types as the page receives them. Both packages describe
 * the same JSON, but the server's types are wider (it knows header extension
 * URIs this mediasoup-client does not list): the page gets JSON, and
 * mediasoup-client ignores what it does not know.
 */
function asSentToPage<T>(value: unknown): T {
  return value as T;
}

/** What the page keeps on `window` between evaluate calls. */
interface LoopbackPage {
  mediasoupClient: typeof MediasoupClient;
  loopback: {
    /** performance.now() when the camera was requested, when the consumer was resumed, at the first frame. */
    startedAt: number;
    resumedAt: number;
    firstFrameAt: number | null;
    frames: number;
    consumer: MediasoupClient.types.Consumer;
  };
}

let worker: types.Worker;
let router: types.Router;
const transports = new Map<string, types.WebRtcTransport>();
const consumers = new Map<string, types.Consumer>();
let server: Server;
let pageUrl: string;
let browser: Browser;

/** The page's only script: mediasoup-client, bundled from node_modules on the fly. */
async function bundleMediasoupClient(): Promise<string> {
  const result = await build({
    stdin: {
      contents: "import * as mediasoupClient from 'mediasoup-client'; Object.assign(window, { mediasoupClient });",
      resolveDir: root,
      loader: 'js',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    define: { 'process.env.NODE_ENV': '"production"' },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

async function startPageServer(script: string): Promise<string> {
  server = createServer((request, response) => {
    if (request.url === '/mediasoup-client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>SFU loopback</title><script src="/mediasoup-client.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function transportById(id: string): types.WebRtcTransport {
  const transport = transports.get(id);
  if (!transport) throw new Error(`no transport ${id}`);
  return transport;
}

/** The Node side of the bridge: the SFU's signaling, minus rooms and peers. */
const sfu: SfuBridge = {
  sfuRouterCapabilities: () =>
    Promise.resolve(asSentToPage<MediasoupClient.types.RtpCapabilities>(router.rtpCapabilities)),
  async sfuCreateTransport() {
    const transport = await router.createWebRtcTransport({
      listenInfos: [
        { protocol: 'udp', ip: '127.0.0.1', announcedAddress: '127.0.0.1', portRange },
        { protocol: 'tcp', ip: '127.0.0.1', announcedAddress: '127.0.0.1', portRange },
      ],
    });
    transports.set(transport.id, transport);
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  },
  async sfuConnect(transportId, dtlsParameters) {
    await transportById(transportId).connect({ dtlsParameters });
  },
  async sfuProduce(transportId, rtpParameters) {
    const producer = await transportById(transportId).produce({
      kind: 'video',
      rtpParameters,
    });
    return producer.id;
  },
  async sfuConsume(transportId, producerId, rtpCapabilities) {
    const consumer = await transportById(transportId).consume({
      producerId,
      rtpCapabilities,
      paused: true,
    });
    consumers.set(consumer.id, consumer);
    return asSentToPage<ConsumerOptions>({
      id: consumer.id,
      producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
    });
  },
  async sfuResume(consumerId) {
    const consumer = consumers.get(consumerId);
    if (!consumer) throw new Error(`no consumer ${consumerId}`);
    await consumer.resume();
  },
};

beforeAll(async () => {
  if (skipReason !== null) return;
  if (!existsSync(workerBin)) {
    throw new Error(
      `mediasoup's worker binary is missing (${workerBin}). Run \`bash build/bootstrap.sh setup\`: it ` +
        'downloads or builds it (see build/mediasoup-worker/README.md).',
    );
  }
  worker = await createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs });
  pageUrl = await startPageServer(await bundleMediasoupClient());
  browser = await launchChromium([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection',
  ]);
});

afterAll(async () => {
  await browser?.close();
  worker?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

async function openLoopbackPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors = watchForErrors(page);
  for (const name of Object.keys(sfu) as (keyof SfuBridge)[]) await page.exposeFunction(name, sfu[name]);
  await page.goto(pageUrl);
  return { page, errors };
}

describe('SFU loopback in Chromium', () => {
  it('sends the fake camera through the SFU and decodes it on a second transport', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page, errors } = await openLoopbackPage();

    await page.evaluate(async () => {
      const w = window as unknown as Window & SfuBridge & LoopbackPage;
      const startedAt = performance.now();
      const device = new w.mediasoupClient.Device();
      await device.load({ routerRtpCapabilities: await w.sfuRouterCapabilities() });

      const send = device.createSendTransport(await w.sfuCreateTransport());
      send.on('connect', ({ dtlsParameters }, done, fail) => {
        w.sfuConnect(send.id, dtlsParameters).then(done, fail);
      });
      send.on('produce', ({ rtpParameters }, done, fail) => {
        w.sfuProduce(send.id, rtpParameters).then((id) => done({ id }), fail);
      });
      const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      const [track] = camera.getVideoTracks();
      if (!track) throw new Error('the fake camera gave no video track');
      const producer = await send.produce({ track });

      const receive = device.createRecvTransport(await w.sfuCreateTransport());
      receive.on('connect', ({ dtlsParameters }, done, fail) => {
        w.sfuConnect(receive.id, dtlsParameters).then(done, fail);
      });
      const consumer = await receive.consume(
        await w.sfuConsume(receive.id, producer.id, device.recvRtpCapabilities ?? device.rtpCapabilities),
      );
      await w.sfuResume(consumer.id);

      const video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.srcObject = new MediaStream([consumer.track]);
      document.body.append(video);
      w.loopback = { startedAt, resumedAt: performance.now(), firstFrameAt: null, frames: 0, consumer };
      const onFrame = (): void => {
        w.loopback.firstFrameAt ??= performance.now();
        w.loopback.frames += 1;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
      await video.play();
    });

    const frames = () => page.evaluate(() => (window as unknown as LoopbackPage).loopback.frames);
    await expect.poll(frames, { timeout: 20_000, interval: 100 }).toBeGreaterThan(5);

    const received = await page.evaluate(async () => {
      const { loopback } = window as unknown as LoopbackPage;
      let inbound: { framesDecoded?: number; frameWidth?: number; frameHeight?: number; codec?: string } = {};
      const stats = await loopback.consumer.getStats();
      const codecs = new Map<string, string>();
      stats.forEach((report: { type: string; id: string; mimeType?: string }) => {
        if (report.type === 'codec' && report.mimeType) codecs.set(report.id, report.mimeType);
      });
      stats.forEach((report: RTCInboundRtpStreamStats & { codecId?: string }) => {
        if (report.type === 'inbound-rtp' && report.kind === 'video') {
          inbound = {
            framesDecoded: report.framesDecoded ?? 0,
            frameWidth: report.frameWidth ?? 0,
            frameHeight: report.frameHeight ?? 0,
            codec: codecs.get(report.codecId ?? '') ?? 'unknown',
          };
        }
      });
      return {
        ...inbound,
        firstFrameAfterCameraMs: Math.round((loopback.firstFrameAt ?? NaN) - loopback.startedAt),
        firstFrameAfterResumeMs: Math.round((loopback.firstFrameAt ?? NaN) - loopback.resumedAt),
      };
    });

    const tuples = [...transports.values()].map((transport) => transport.iceSelectedTuple);
    console.info(
      `[e2e] SFU loopback: first decoded frame ${received.firstFrameAfterCameraMs} ms after asking for the camera ` +
        `(${received.firstFrameAfterResumeMs} ms after the consumer resumed); ${received.frameWidth}x` +
        `${received.frameHeight} ${received.codec}, ${received.framesDecoded} frames decoded; ICE from ` +
        tuples.map((tuple) => (tuple ? `${tuple.remoteIp}:${tuple.remotePort}/${tuple.protocol}` : 'none')).join(', '),
    );
    expect(received.framesDecoded).toBeGreaterThan(0);
    expect(received.frameWidth).toBe(640);
    expect(received.frameHeight).toBe(480);
    expect(tuples.every((tuple) => tuple?.localAddress === '127.0.0.1')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
