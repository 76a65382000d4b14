/**
 * The SFU's worker on this host: mediasoup's C++ worker process, which
 * build/mediasoup-worker/ensure.sh provides at set-up (mediasoup's prebuilt
 * download, or an offline build against Debian's libraries). A real worker
 * must start, host a router speaking the call codecs and a WebRTC transport
 * on loopback, answer, close cleanly, and report its death when killed, which
 * is what the calls service relies on to replace it.
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createWorker, workerBin, type types } from 'mediasoup';
import { afterEach, describe, expect, it } from 'vitest';

/** Ports of this suite's transports; away from the e2e suite's and the server's defaults. */
const portRange = { min: 47_100, max: 47_199 };

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

const workers: types.Worker[] = [];
afterEach(() => {
  for (const worker of workers.splice(0)) worker.close();
});

/** A missing binary is a set-up step not run, not a reason to skip: say which. */
async function startWorker(): Promise<types.Worker> {
  if (!existsSync(workerBin)) {
    throw new Error(
      process.env['MEDIASOUP_WORKER_BIN']
        ? `MEDIASOUP_WORKER_BIN points at a missing file (${workerBin}): fix it, or unset it and run ` +
            '`bash build/bootstrap.sh setup`.'
        : `mediasoup's worker binary is missing (${workerBin}). Run \`bash build/bootstrap.sh setup\`: it ` +
            'downloads or builds it (see build/mediasoup-worker/README.md).',
    );
  }
  const worker = await createWorker({ logLevel: 'warn' });
  workers.push(worker);
  return worker;
}

/** A minimal RTP packet (RFC 3550): version 2, no padding, extension or CSRCs. */
function rtpPacket(fields: {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}) {
  const header = Buffer.alloc(12);
  header.writeUInt8(0x80, 0);
  header.writeUInt8(fields.payloadType, 1);
  header.writeUInt16BE(fields.sequence, 2);
  header.writeUInt32BE(fields.timestamp, 4);
  header.writeUInt32BE(fields.ssrc, 8);
  return Buffer.concat([header, fields.payload]);
}

/** The payload of an RTP packet, past the CSRCs and any header extension the router added. */
function rtpPayload(packet: Buffer): Buffer {
  let offset = 12 + 4 * (packet.readUInt8(0) & 0x0f);
  if (packet.readUInt8(0) & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  return packet.subarray(offset);
}

describe('the mediasoup worker binary', () => {
  it('hosts a router with the call codecs and a WebRTC transport on loopback, answers, and closes', async () => {
    const worker = await startWorker();
    expect(worker.pid).toBeGreaterThan(0);

    const router = await worker.createRouter({ mediaCodecs });
    const mimeTypes = router.rtpCapabilities.codecs?.map((codec) => codec.mimeType) ?? [];
    expect(mimeTypes).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/VP9', 'video/H264']));

    const transport = await router.createWebRtcTransport({
      listenInfos: [
        { protocol: 'udp', ip: '127.0.0.1', portRange },
        { protocol: 'tcp', ip: '127.0.0.1', portRange },
      ],
    });
    expect(transport.iceCandidates.map((candidate) => [candidate.address, candidate.protocol])).toEqual([
      ['127.0.0.1', 'udp'],
      ['127.0.0.1', 'tcp'],
    ]);
    for (const candidate of transport.iceCandidates) {
      expect(candidate.port).toBeGreaterThanOrEqual(portRange.min);
      expect(candidate.port).toBeLessThanOrEqual(portRange.max);
    }
    // DTLS parameters come from the worker's OpenSSL: a fingerprint per hash it offers.
    expect(transport.dtlsParameters.fingerprints.map((fingerprint) => fingerprint.algorithm)).toContain('sha-256');

    const usage = await worker.getResourceUsage();
    expect(usage.ru_maxrss).toBeGreaterThan(0);

    const exited = once(worker, 'subprocessclose');
    worker.close();
    expect(worker.closed).toBe(true);
    expect(transport.closed).toBe(true);
    await expect(worker.getResourceUsage()).rejects.toThrow();
    await exited;
    expect(worker.subprocessClosed).toBe(true);
    expect(() => process.kill(worker.pid, 0)).toThrow(/ESRCH/);
  });

  // The worker speaks libsrtp 3's API; the offline build maps it onto Debian's
  // libsrtp 2 (build/mediasoup-worker/subprojects/libsrtp3/include/srtp.h).
  // Opus packets go out of one SRTP transport and in at another (encrypt,
  // then decrypt and authenticate), once per crypto suite a browser may
  // negotiate, and must arrive intact.
  it.each<types.SrtpCryptoSuite>([
    'AEAD_AES_256_GCM',
    'AEAD_AES_128_GCM',
    'AES_CM_128_HMAC_SHA1_80',
    'AES_CM_128_HMAC_SHA1_32',
  ])('carries RTP through SRTP with %s', async (srtpCryptoSuite) => {
    const worker = await startWorker();
    const router = await worker.createRouter({ mediaCodecs });
    const plain = () =>
      router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange },
        rtcpMux: true,
        comedia: false,
        enableSrtp: true,
        srtpCryptoSuite,
      });
    const [sender, receiver] = await Promise.all([plain(), plain()]);
    const [senderKey, receiverKey] = [sender.srtpParameters, receiver.srtpParameters];
    if (!senderKey || !receiverKey) throw new Error('SRTP transports came without SRTP parameters');
    expect(senderKey.cryptoSuite).toBe(srtpCryptoSuite);
    // Each side decrypts with the other's key and encrypts with its own.
    await sender.connect({ ip: '127.0.0.1', port: receiver.tuple.localPort, srtpParameters: receiverKey });
    await receiver.connect({ ip: '127.0.0.1', port: sender.tuple.localPort, srtpParameters: senderKey });

    // In: RTP handed to the router directly. Across: sender -> SRTP/UDP -> receiver. Out: a direct consumer.
    const direct = await router.createDirectTransport();
    const source = await direct.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48_000, channels: 2 }],
        encodings: [{ ssrc: 22_222 }],
      },
    });
    const outbound = await sender.consume({ producerId: source.id, rtpCapabilities: router.rtpCapabilities });
    const inbound = await receiver.produce({ kind: 'audio', rtpParameters: outbound.rtpParameters });
    const sink = await direct.consume({ producerId: inbound.id, rtpCapabilities: router.rtpCapabilities });
    const received: string[] = [];
    sink.on('rtp', (packet) => received.push(rtpPayload(packet).toString('hex')));

    const sent: string[] = [];
    for (let sequence = 1; sequence <= 20; sequence += 1) {
      const payload = Buffer.from(`opus frame ${sequence} with ${srtpCryptoSuite}`);
      sent.push(payload.toString('hex'));
      source.send(rtpPacket({ payloadType: 100, sequence, timestamp: sequence * 960, ssrc: 22_222, payload }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await expect.poll(() => received.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(sent.length);
    expect(received).toEqual(sent);
  });

  it("reports a killed worker process as 'died'", async () => {
    const worker = await startWorker();
    const died = once(worker, 'died') as Promise<[Error]>;
    process.kill(worker.pid, 'SIGKILL');

    const [error] = await died;
    expect(error.message).toMatch(/SIGKILL/);
    expect(worker.died).toBe(true);
    expect(worker.closed).toBe(true);
  });
});
