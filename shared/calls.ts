/**
 * Call signaling: the inputs of the `calls.*` procedures and the events the
 * `calls.events` subscription sends, shared by the renderer (mediasoup-client)
 * and the server (mediasoup). mediasoup's own structures (RTP capabilities and
 * parameters, DTLS parameters) are checked here for shape and size only;
 * mediasoup checks what they say and the server turns its refusals into
 * VALIDATION_FAILED for that client alone.
 */
import { z } from 'zod';
import { meetingIdSchema } from './meetings.ts';

const id = z.string().min(1).max(64);

/** A JSON object of bounded size: what mediasoup structures arrive as. */
const mediasoupObject = (maxBytes: number) =>
  z
    .record(z.string(), z.unknown())
    .refine((value) => JSON.stringify(value).length <= maxBytes, `Too large (at most ${maxBytes} bytes).`);

export const mediaSources = ['microphone', 'camera', 'screen', 'screen-audio'] as const;
export type MediaSource = (typeof mediaSources)[number];

export const prepareCallInput = z.object({ meetingId: meetingIdSchema });

export const joinCallInput = z.object({
  meetingId: meetingIdSchema,
  /** The device's `rtpCapabilities` after `device.load()`. */
  rtpCapabilities: mediasoupObject(64_000),
  /** To resume the same peer after a dropped connection (within the grace period). */
  resumePeerId: id.optional(),
});

const peerRef = { meetingId: meetingIdSchema, peerId: id };

export const peerInput = z.object(peerRef);

export const createTransportInput = z.object({ ...peerRef, direction: z.enum(['send', 'recv']) });

export const connectTransportInput = z.object({
  ...peerRef,
  transportId: id,
  dtlsParameters: mediasoupObject(16_000),
});

export const produceInput = z.object({
  ...peerRef,
  transportId: id,
  kind: z.enum(['audio', 'video']),
  rtpParameters: mediasoupObject(64_000),
  source: z.enum(mediaSources),
});

export const consumerInput = z.object({ ...peerRef, consumerId: id });
export const producerInput = z.object({ ...peerRef, producerId: id });

export interface CallPeerView {
  peerId: string;
  userId: string;
  displayName: string;
  role: 'host' | 'participant';
}

export interface CallJoinAnswer {
  peerId: string;
  self: CallPeerView;
  /** Everyone else already in the call. */
  peers: CallPeerView[];
  /** True when `resumePeerId` was still held: transports must still be created anew. */
  resumed: boolean;
}

/** An RTCIceServer as RTCPeerConnection takes it. */
export interface IceServer {
  urls: string | string[];
  username?: string | undefined;
  credential?: string | undefined;
}

export interface CallPrepareAnswer {
  routerRtpCapabilities: Record<string, unknown>;
  /** STUN/TURN servers for RTCPeerConnection (empty on a LAN). */
  iceServers: IceServer[];
}

export interface TransportOptions {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

export interface ConsumerOffer {
  id: string;
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  rtpParameters: Record<string, unknown>;
  /** The producer is paused (e.g. muted): show it as such until `consumer-resumed`. */
  producerPaused: boolean;
}

export type CallEvent =
  | { type: 'peer-joined'; peer: CallPeerView }
  | { type: 'peer-left'; peerId: string }
  | { type: 'consumer'; consumer: ConsumerOffer }
  | { type: 'consumer-closed'; consumerId: string }
  | { type: 'consumer-paused'; consumerId: string }
  | { type: 'consumer-resumed'; consumerId: string }
  | { type: 'active-speaker'; peerId: string | null }
  /** The media server under this call restarted: make new transports and produce again. */
  | { type: 'reconnect'; reason: 'media-server-restarted' }
  | { type: 'call-ended'; reason: 'ended-by-host' | 'removed' };
