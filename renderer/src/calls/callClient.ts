/**
 * One call from the renderer's side, without React: mediasoup-client's Device,
 * a send and a receive transport, the local tracks it produces and the remote
 * ones it consumes, driven by the server's `calls.events` stream (server-driven
 * consumption: offers arrive as `consumer` events). Screens read `snapshot()`
 * through `subscribe` (useSyncExternalStore) and call the actions.
 *
 * The same code runs in the desktop app and in a guest's browser.
 */
import { Device, type types } from 'mediasoup-client';
import type {
  CallEvent,
  CallPeerView,
  CallRoomState,
  ChatMessageView,
  ConsumerOffer,
  MediaSource,
} from '../../../shared/calls.ts';
import type { ApiClient } from '../api/trpc.ts';

export type CallPhase = 'idle' | 'joining' | 'waiting' | 'connected' | 'reconnecting' | 'ended' | 'failed';

export interface RemoteTrack {
  consumerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  track: MediaStreamTrack;
  /** The sender paused it (muted, camera off). */
  paused: boolean;
  /** mediasoup's health of the stream, 0–10 (the worse of the sender's way in and our way out); null until known. */
  quality: number | null;
}

export interface CallSnapshot {
  phase: CallPhase;
  /** Why the call ended or failed, for the screen to say. */
  reason: string | null;
  self: CallPeerView | null;
  peers: CallPeerView[];
  remote: RemoteTrack[];
  local: { microphone: MediaStreamTrack | null; camera: MediaStreamTrack | null };
  /** The screen this participant shares, if any. */
  screen: MediaStreamTrack | null;
  muted: { microphone: boolean; camera: boolean };
  activeSpeaker: string | null;
  room: CallRoomState;
  /** Video consumers the server forwards now (last-N); others show the person's initials. */
  forwarding: string[];
  /** The host muted or stopped something of ours: said once on screen. */
  mutedByHost: 'microphone' | 'camera' | 'screen' | null;
  /** The call is being recorded (everyone sees the indicator), and who started it. */
  recording: { active: boolean; byName: string | null };
  /** Chat messages that arrived during this call (the panel merges them with the meeting's history). */
  chat: ChatMessageView[];
  /** The speaker (audio output device) chosen in the lobby; null = the system default. */
  speaker: string | null;
}

/** Screen shares: one high-resolution, low-frame-rate layer (text stays sharp). */
export const SCREEN_ENCODINGS: types.RtpEncodingParameters[] = [{ maxBitrate: 2_500_000, maxFramerate: 15 }];

/** Camera simulcast: three layers, so each receiver gets the size its tile needs. */
export const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

const EMPTY: CallSnapshot = {
  phase: 'idle',
  reason: null,
  self: null,
  peers: [],
  remote: [],
  local: { microphone: null, camera: null },
  screen: null,
  muted: { microphone: false, camera: false },
  activeSpeaker: null,
  room: { locked: false, waitingRoom: false, hands: [], waiting: [] },
  forwarding: [],
  mutedByHost: null,
  recording: { active: false, byName: null },
  chat: [],
  speaker: null,
};

export class CallClient {
  readonly #api: ApiClient;
  readonly #meetingId: string;
  readonly #listeners = new Set<() => void>();
  #snapshot: CallSnapshot = EMPTY;
  #device: Device | null = null;
  #peerId: string | null = null;
  #send: types.Transport | null = null;
  #recv: types.Transport | null = null;
  readonly #producers = new Map<'microphone' | 'camera' | 'screen', types.Producer>();
  /** Local tracks waiting for the host to let us in. */
  #admittedTracks: { microphone: MediaStreamTrack | null; camera: MediaStreamTrack | null } | null = null;
  readonly #consumers = new Map<string, types.Consumer>();
  #subscription: { unsubscribe(): void } | null = null;
  /** Offers that arrived before the receive transport existed, in order. */
  #pendingOffers: ConsumerOffer[] = [];
  #iceServers: RTCIceServer[] = [];
  #leaving = false;

  constructor(api: ApiClient, meetingId: string) {
    this.#api = api;
    this.#meetingId = meetingId;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly snapshot = (): CallSnapshot => this.#snapshot;

  #update(change: Partial<CallSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...change };
    for (const listener of this.#listeners) listener();
  }

  /** Joins with the given local tracks (either may be null: joining without camera or microphone). */
  async join(tracks: { microphone: MediaStreamTrack | null; camera: MediaStreamTrack | null }): Promise<void> {
    this.#leaving = false;
    this.#update({ phase: 'joining', reason: null, local: tracks });
    try {
      const prepared = await this.#api.calls.prepare.mutate({ meetingId: this.#meetingId });
      this.#iceServers = prepared.iceServers as RTCIceServer[];
      this.#device = new Device();
      await this.#device.load({
        routerRtpCapabilities: prepared.routerRtpCapabilities,
      });
      await this.#enter(tracks, undefined);
    } catch (error) {
      this.#update({ phase: 'failed', reason: messageOf(error) });
      throw error;
    }
  }

  async #enter(
    tracks: { microphone: MediaStreamTrack | null; camera: MediaStreamTrack | null },
    resumePeerId: string | undefined,
  ): Promise<void> {
    const device = this.#device!;
    const joined = await this.#api.calls.join.mutate({
      meetingId: this.#meetingId,
      rtpCapabilities: device.rtpCapabilities,
      ...(resumePeerId === undefined ? {} : { resumePeerId }),
    });
    this.#peerId = joined.peerId;
    this.#update({
      self: joined.self,
      peers: joined.peers,
      remote: [],
      activeSpeaker: null,
      room: joined.room,
      recording: { active: joined.recording, byName: null },
    });
    this.#listen();
    if (joined.waiting) {
      // Media starts once the host lets us in (`admitted`).
      this.#admittedTracks = tracks;
      this.#update({ phase: 'waiting' });
      return;
    }
    await this.#startMedia(tracks);
  }

  /** Transports, then our tracks; stops quietly if the call ends (or we leave) half-way. */
  async #startMedia(tracks: { microphone: MediaStreamTrack | null; camera: MediaStreamTrack | null }) {
    const peerId = this.#peerId;
    const still = () => peerId !== null && this.#peerId === peerId && !this.#leaving;
    const steps = [
      () => this.#createRecvTransport(),
      () => this.#createSendTransport(),
      () => (tracks.microphone === null ? Promise.resolve() : this.#produce('microphone', tracks.microphone)),
      () => (tracks.camera === null ? Promise.resolve() : this.#produce('camera', tracks.camera)),
    ];
    for (const step of steps) {
      if (!still()) return;
      try {
        await step();
      } catch (error) {
        if (!still()) return;
        throw error;
      }
    }
    if (still()) this.#update({ phase: 'connected' });
  }

  #ref() {
    return { meetingId: this.#meetingId, peerId: this.#peerId! };
  }

  #listen(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = this.#api.calls.events.subscribe(this.#ref(), {
      onData: (event) => void this.#onEvent(event),
      onError: (error) => {
        if (!this.#leaving) this.#update({ phase: 'reconnecting', reason: messageOf(error) });
      },
    });
  }

  async #onEvent(event: CallEvent): Promise<void> {
    switch (event.type) {
      case 'peer-joined':
        this.#update({ peers: [...this.#snapshot.peers.filter((p) => p.peerId !== event.peer.peerId), event.peer] });
        return;
      case 'peer-left':
        this.#update({
          peers: this.#snapshot.peers.filter((p) => p.peerId !== event.peerId),
          remote: this.#snapshot.remote.filter((r) => r.peerId !== event.peerId),
        });
        return;
      case 'consumer':
        if (this.#recv === null) this.#pendingOffers.push(event.consumer);
        else await this.#consume(event.consumer);
        return;
      case 'consumer-closed':
        this.#consumers.get(event.consumerId)?.close();
        this.#consumers.delete(event.consumerId);
        this.#update({ remote: this.#snapshot.remote.filter((r) => r.consumerId !== event.consumerId) });
        return;
      case 'consumer-paused':
      case 'consumer-resumed': {
        const paused = event.type === 'consumer-paused';
        this.#update({
          remote: this.#snapshot.remote.map((r) => (r.consumerId === event.consumerId ? { ...r, paused } : r)),
        });
        return;
      }
      case 'consumer-score': {
        const quality = Math.min(event.score, event.producerScore);
        this.#update({
          remote: this.#snapshot.remote.map((r) => (r.consumerId === event.consumerId ? { ...r, quality } : r)),
        });
        return;
      }
      case 'active-speaker':
        this.#update({ activeSpeaker: event.peerId });
        return;
      case 'room-state':
        this.#update({ room: event.room });
        return;
      case 'peer-updated':
        this.#update({
          self: this.#snapshot.self?.peerId === event.peer.peerId ? event.peer : this.#snapshot.self,
          peers: this.#snapshot.peers.map((p) => (p.peerId === event.peer.peerId ? event.peer : p)),
        });
        return;
      case 'admitted': {
        const tracks = this.#admittedTracks ?? this.#snapshot.local;
        this.#admittedTracks = null;
        this.#update({ phase: 'joining', peers: event.peers });
        await this.#startMedia(tracks);
        return;
      }
      case 'muted-by-host':
        if (event.source === 'screen') this.#stopScreenLocally();
        else {
          this.#producers.get(event.source)?.pause();
          this.#update({ muted: { ...this.#snapshot.muted, [event.source]: true } });
        }
        this.#update({ mutedByHost: event.source });
        return;
      case 'forwarding':
        this.#update({ forwarding: event.consumerIds });
        return;
      case 'recording':
        this.#update({ recording: { active: event.state === 'started', byName: event.byName } });
        return;
      case 'chat':
        this.#update({ chat: [...this.#snapshot.chat.filter((m) => m.id !== event.message.id), event.message] });
        return;
      case 'reconnect':
        await this.#reconnect();
        return;
      case 'call-ended':
        this.#teardown();
        this.#update({ phase: 'ended', reason: event.reason });
        return;
    }
  }

  async #consume(offer: ConsumerOffer): Promise<void> {
    const recv = this.#recv;
    if (recv === null) return;
    const consumer = await recv.consume({
      id: offer.id,
      producerId: offer.producerId,
      kind: offer.kind,
      rtpParameters: offer.rtpParameters as unknown as types.RtpParameters,
    });
    this.#consumers.set(consumer.id, consumer);
    this.#update({
      remote: [
        ...this.#snapshot.remote,
        {
          consumerId: consumer.id,
          peerId: offer.peerId,
          kind: offer.kind,
          source: offer.source,
          track: consumer.track,
          paused: offer.producerPaused,
          quality: null,
        },
      ],
    });
    // The call may have moved on meanwhile (a reconnect, leaving): then this consumer is gone too.
    if (this.#recv !== recv || this.#peerId === null) return;
    await this.#api.calls.resumeConsumer.mutate({ ...this.#ref(), consumerId: consumer.id });
  }

  async #createSendTransport(): Promise<void> {
    const options = await this.#api.calls.createTransport.mutate({ ...this.#ref(), direction: 'send' });
    const transport = this.#device!.createSendTransport({
      ...(options as unknown as types.TransportOptions),
      iceServers: this.#iceServers,
    });
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#api.calls.connectTransport
        .mutate({ ...this.#ref(), transportId: transport.id, dtlsParameters: dtlsParameters })
        .then(() => callback(), errback);
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      this.#api.calls.produce
        .mutate({
          ...this.#ref(),
          transportId: transport.id,
          kind,
          rtpParameters: rtpParameters,
          source: appData['source'] as MediaSource,
        })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed' && !this.#leaving) this.#update({ phase: 'reconnecting', reason: 'connection-failed' });
    });
    this.#send = transport;
  }

  async #createRecvTransport(): Promise<void> {
    const options = await this.#api.calls.createTransport.mutate({ ...this.#ref(), direction: 'recv' });
    const transport = this.#device!.createRecvTransport({
      ...(options as unknown as types.TransportOptions),
      iceServers: this.#iceServers,
    });
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#api.calls.connectTransport
        .mutate({ ...this.#ref(), transportId: transport.id, dtlsParameters: dtlsParameters })
        .then(() => callback(), errback);
    });
    this.#recv = transport;
    const pending = this.#pendingOffers;
    this.#pendingOffers = [];
    for (const offer of pending) await this.#consume(offer);
  }

  async #produce(source: 'microphone' | 'camera' | 'screen', track: MediaStreamTrack): Promise<void> {
    const producer = await this.#send!.produce({
      track,
      stopTracks: false,
      appData: { source },
      ...(source === 'camera'
        ? { encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } }
        : source === 'screen'
          ? { encodings: SCREEN_ENCODINGS }
          : { codecOptions: { opusStereo: false, opusDtx: true, opusFec: true } }),
    });
    if (source !== 'screen' && this.#snapshot.muted[source]) producer.pause();
    this.#producers.set(source, producer);
  }

  /** Shares a screen or window (the caller picked it: getDisplayMedia in a browser, the desktop picker in the app). */
  async startScreenShare(track: MediaStreamTrack): Promise<void> {
    if (this.#send === null || this.#producers.has('screen')) {
      track.stop();
      return;
    }
    track.contentHint = 'detail';
    // The browser's own "Stop sharing" ends the track.
    track.addEventListener('ended', () => void this.stopScreenShare());
    this.#update({ screen: track });
    try {
      await this.#produce('screen', track);
    } catch (error) {
      this.#stopScreenLocally();
      throw error;
    }
  }

  async stopScreenShare(): Promise<void> {
    const producer = this.#producers.get('screen');
    this.#stopScreenLocally();
    if (producer !== undefined && this.#peerId !== null) {
      await this.#api.calls.closeProducer.mutate({ ...this.#ref(), producerId: producer.id }).catch(() => undefined);
    }
  }

  #stopScreenLocally(): void {
    this.#producers.get('screen')?.close();
    this.#producers.delete('screen');
    this.#snapshot.screen?.stop();
    this.#update({ screen: null });
  }

  /** Tells the server how a consumer's tile is shown (last-N and the simulcast layer follow). */
  async setConsumerView(consumerId: string, view: { visible: boolean; width: number; height: number }) {
    if (this.#peerId === null || !this.#consumers.has(consumerId)) return;
    await this.#api.calls.setConsumerView.mutate({ ...this.#ref(), consumerId, ...view }).catch(() => undefined);
  }

  /** Pinned people's video is always forwarded (within last-N). */
  async pin(peerIds: string[]): Promise<void> {
    if (this.#peerId !== null) await this.#api.calls.pin.mutate({ ...this.#ref(), pinnedPeerIds: peerIds });
  }

  /** Where remote audio plays (an audiooutput device id; null = the default). */
  setSpeaker(deviceId: string | null): void {
    this.#update({ speaker: deviceId });
  }

  /** Writes in the call's chat as this peer. */
  async sendChat(text: string): Promise<void> {
    if (this.#peerId === null) return;
    const message = await this.#api.calls.chat.send.mutate({ ...this.#ref(), text });
    // The event brings it too; adding it now shows it at once (the two are merged by id).
    this.#update({ chat: [...this.#snapshot.chat.filter((m) => m.id !== message.id), message] });
  }

  async raiseHand(raised: boolean): Promise<void> {
    if (this.#peerId !== null) await this.#api.calls.raiseHand.mutate({ ...this.#ref(), raised });
  }

  dismissHostNotice(): void {
    this.#update({ mutedByHost: null });
  }

  /** The caller's own peer, for host-control procedures. */
  peerRef(): { meetingId: string; peerId: string } | null {
    return this.#peerId === null ? null : this.#ref();
  }

  /** Mute / unmute, camera off / on: the track stays, the media stops (the server pauses the producer too). */
  async setMuted(source: 'microphone' | 'camera', muted: boolean): Promise<void> {
    this.#update({ muted: { ...this.#snapshot.muted, [source]: muted }, mutedByHost: null });
    const producer = this.#producers.get(source);
    if (producer === undefined || this.#peerId === null) return;
    if (muted) producer.pause();
    else producer.resume();
    const input = { ...this.#ref(), producerId: producer.id };
    await (muted ? this.#api.calls.pauseProducer.mutate(input) : this.#api.calls.resumeProducer.mutate(input));
  }

  /**
   * The media server under the call restarted: join again on a fresh router,
   * with the same tracks and mute state, retrying while it comes back.
   */
  async #reconnect(): Promise<void> {
    this.#update({ phase: 'reconnecting', reason: 'media-server-restarted' });
    this.#closeMedia();
    // The old peer went with the old room: nothing more is sent for it.
    this.#peerId = null;
    for (let attempt = 0; !this.#leaving; attempt += 1) {
      try {
        const prepared = await this.#api.calls.prepare.mutate({ meetingId: this.#meetingId });
        this.#device = new Device();
        await this.#device.load({ routerRtpCapabilities: prepared.routerRtpCapabilities });
        await this.#enter(this.#snapshot.local, undefined);
        return;
      } catch (error) {
        if (attempt >= 8) {
          this.#update({ phase: 'failed', reason: messageOf(error) });
          return;
        }
        this.#closeMedia();
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
      }
    }
  }

  async leave(): Promise<void> {
    // Never joined (still in the lobby): nothing to leave.
    if (this.#snapshot.phase === 'idle' || this.#snapshot.phase === 'ended') return;
    this.#leaving = true;
    const ref = this.#peerId === null ? null : this.#ref();
    this.#teardown();
    this.#update({ phase: 'ended', reason: 'left' });
    if (ref !== null) await this.#api.calls.leave.mutate(ref).catch(() => undefined);
  }

  #closeMedia(): void {
    this.#stopScreenLocally();
    this.#subscription?.unsubscribe();
    this.#subscription = null;
    for (const consumer of this.#consumers.values()) consumer.close();
    this.#consumers.clear();
    for (const producer of this.#producers.values()) producer.close();
    this.#producers.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#send = null;
    this.#recv = null;
    this.#pendingOffers = [];
  }

  #teardown(): void {
    this.#leaving = true;
    this.#closeMedia();
    this.#peerId = null;
    this.#update({ remote: [], peers: [], activeSpeaker: null, forwarding: [] });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
