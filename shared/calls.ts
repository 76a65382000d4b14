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

/**
 * What a tile shows of a consumer: whether it is on screen, and how big (CSS
 * pixels × device pixel ratio), so the server forwards only what is seen, at
 * the simulcast layer that fits.
 */
export const consumerViewInput = z.object({
  ...peerRef,
  consumerId: id,
  visible: z.boolean(),
  width: z.number().int().min(0).max(8192),
  height: z.number().int().min(0).max(8192),
});

/** Pinned participants' video is always forwarded (within last-N). */
export const pinInput = z.object({ ...peerRef, pinnedPeerIds: z.array(id).max(4) });

export const raiseHandInput = z.object({ ...peerRef, raised: z.boolean() });

/** In-call chat: plain text, shown as text. */
export const CHAT_MESSAGE_MAX_LENGTH = 2_000;
export const chatSendInput = z.object({
  ...peerRef,
  text: z
    .string()
    .trim()
    .min(1, 'Write a message first.')
    .max(CHAT_MESSAGE_MAX_LENGTH, `Keep messages under ${CHAT_MESSAGE_MAX_LENGTH} characters.`),
});
export const chatListInput = z.object({ meetingId: meetingIdSchema });

export interface ChatMessageView {
  id: string;
  senderName: string;
  /** The sender's account, or null for a guest by link. */
  senderUserId: string | null;
  guest: boolean;
  text: string;
  at: Date;
}

/** Host controls name the host's own peer (`peerId`) and the participant acted on (`targetPeerId`). */
const targetRef = { ...peerRef, targetPeerId: id };
export const muteParticipantInput = z.object({ ...targetRef, source: z.enum(['microphone', 'camera', 'screen']) });
export const targetInput = z.object(targetRef);
export const setLockedInput = z.object({ ...peerRef, locked: z.boolean() });
export const setWaitingRoomInput = z.object({ ...peerRef, enabled: z.boolean() });
export const producerInput = z.object({ ...peerRef, producerId: id });

export interface CallPeerView {
  peerId: string;
  userId: string;
  displayName: string;
  role: 'host' | 'participant';
}

/** The call's shared state, sent whole whenever it changes. */
export interface CallRoomState {
  locked: boolean;
  waitingRoom: boolean;
  /** Raised hands, first raised first. */
  hands: string[];
  /** People waiting to be let in: only hosts receive them (empty for everyone else). */
  waiting: CallPeerView[];
}

export interface CallJoinAnswer {
  peerId: string;
  /** In the waiting room: wait for `admitted` (or `call-ended` with `denied`) before making transports. */
  waiting: boolean;
  room: CallRoomState;
  self: CallPeerView;
  /** Everyone else already in the call. */
  peers: CallPeerView[];
  /** True when `resumePeerId` was still held: transports must still be created anew. */
  resumed: boolean;
  /** The call is being recorded now: show the recording indicator from the start. */
  recording: boolean;
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
  /**
   * mediasoup's view of a stream's health, 0–10: `score` for the way to this
   * receiver, `producerScore` for the sender's way in. At most one per
   * consumer per second, and only when it changes.
   */
  | { type: 'consumer-score'; consumerId: string; score: number; producerScore: number }
  | { type: 'active-speaker'; peerId: string | null }
  | { type: 'chat'; message: ChatMessageView }
  | { type: 'room-state'; room: CallRoomState }
  /** Someone's role changed (the host handed over). */
  | { type: 'peer-updated'; peer: CallPeerView }
  /** The host let this waiting participant in: who is there; make transports and produce now. */
  | { type: 'admitted'; peers: CallPeerView[] }
  /** The host muted (or stopped) one of this participant's tracks. */
  | { type: 'muted-by-host'; source: 'microphone' | 'camera' | 'screen' }
  /** Video this participant receives now (last-N): the rest is paused. */
  | { type: 'forwarding'; consumerIds: string[] }
  /** The media server under this call restarted: make new transports and produce again. */
  | { type: 'reconnect'; reason: 'media-server-restarted' }
  | { type: 'call-ended'; reason: 'ended-by-host' | 'removed' | 'denied' }
  /**
   * Recording began or ended: show or hide the indicator. `by` is the user who
   * did it (null when the server stopped it: the call closed, or it failed).
   */
  | { type: 'recording'; state: 'started' | 'stopped'; recordingId: string; by: string | null; byName: string | null };

export const recordingMeetingInput = z.object({ meetingId: meetingIdSchema });

export const recordingUrlInput = z.object({
  recordingId: z.string().uuid('Unknown recording.'),
  /** A URL that downloads (Content-Disposition: attachment) rather than plays inline. */
  download: z.boolean().default(false),
});

export const callHistoryInput = z.object({ meetingId: meetingIdSchema.optional() }).optional();

export type RecordingStatus = 'recording' | 'ready' | 'failed';

export interface RecordingView {
  id: string;
  meetingId: string;
  /** Only `ready` can be played and downloaded (`calls.recording.url`). */
  status: RecordingStatus;
  startedBy: { userId: string; displayName: string } | null;
  startedAt: Date;
  endedAt: Date | null;
  durationMs: number | null;
  sizeBytes: number | null;
  /** Why it failed, or a note on a recording the server could not finish cleanly. */
  error: string | null;
  /** When the server deletes it (retention); null when recordings are kept. */
  expiresAt: Date | null;
}

/** A signed address for a <video> element or a download link: valid for a few minutes, for this user only. */
export interface RecordingUrl {
  url: string;
  expiresAt: Date;
}

export interface CallHistoryEntry {
  sessionId: string;
  meetingId: string;
  meetingTitle: string;
  startedAt: Date;
  /** Null while the call is still running. */
  endedAt: Date | null;
  durationMs: number | null;
  /** Everyone who was in the call at some point, in the order they first joined. */
  participants: { userId: string; displayName: string }[];
  recordings: RecordingView[];
}

/** Guests by link: the host makes an expiring invite link; someone without an account opens it and joins. */
export const createInviteInput = z.object({
  meetingId: meetingIdSchema,
  expiresInHours: z.number().int().min(1).max(168).default(24),
});
export const inviteListInput = z.object({ meetingId: meetingIdSchema });
export const revokeInviteInput = z.object({ meetingId: meetingIdSchema, inviteId: z.string().uuid('Unknown invite.') });
const inviteToken = z.string().min(16).max(128);
export const guestPreviewInput = z.object({ token: inviteToken });
export const guestJoinInput = z.object({
  token: inviteToken,
  displayName: z.string().trim().min(1, 'Enter your name.').max(60, 'At most 60 characters.'),
});

export interface CallInviteView {
  id: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** A new invite: the link holds the only copy of its secret (the server keeps a hash). */
export interface CreatedCallInvite extends CallInviteView {
  url: string;
}

export interface GuestInvitePreview {
  meetingTitle: string;
  hostName: string;
  expiresAt: Date;
}

/** A guest's credential for the `calls.*` signaling of one meeting: never a user session. */
export interface GuestJoinAnswer {
  guestToken: string;
  meetingId: string;
  displayName: string;
  expiresAt: Date;
}
