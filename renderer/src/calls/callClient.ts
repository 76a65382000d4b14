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
import type { CallEvent, CallPeerView, ConsumerOffer, MediaSource } from '../../../shared/calls.ts';
import type { ApiClient } from '../api/trpc.ts';

export type CallPhase = 'idle' | 'joining' | 'connected' | 'reconnecting' | 'ended' | 'failed';

export interface RemoteTrack {
  consumerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  track: MediaStreamTrack;
  /** The sender paused it (muted, camera off). */
  paused: boolean;
}

export interface CallSnapshot {
  phase: CallPhase;
  /** Why the call ended or failed, for the screen to say. */
  reason: string | null;
  self: CallPeerView | null;
  peers: CallPeerView[];
  remote: RemoteTrack[];
  local: { microphone: MediaStreamTrack | null; camera: MediaStreamTrack | null };
  muted: { microphone: boolean; camera: boolean };
  activeSpeaker: string | null;
}

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
  muted: { microphone: false, camera: false },
  activeSpeaker: null,
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
  readonly #producers = new Map<'microphone' | 'camera', types.Producer>();
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
    this.#update({ self: joined.self, peers: joined.peers, remote: [], activeSpeaker: null });
    this.#listen();
    await this.#createRecvTransport();
    await this.#createSendTransport();
    if (tracks.microphone !== null) await this.#produce('microphone', tracks.microphone);
    if (tracks.camera !== null) await this.#produce('camera', tracks.camera);
    this.#update({ phase: 'connected' });
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
      case 'active-speaker':
        this.#update({ activeSpeaker: event.peerId });
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
    const consumer = await this.#recv!.consume({
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
        },
      ],
    });
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

  async #produce(source: 'microphone' | 'camera', track: MediaStreamTrack): Promise<void> {
    const producer = await this.#send!.produce({
      track,
      stopTracks: false,
      appData: { source },
      ...(source === 'camera'
        ? { encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } }
        : { codecOptions: { opusStereo: false, opusDtx: true, opusFec: true } }),
    });
    if (this.#snapshot.muted[source]) producer.pause();
    this.#producers.set(source, producer);
  }

  /** Mute / unmute, camera off / on: the track stays, the media stops (the server pauses the producer too). */
  async setMuted(source: 'microphone' | 'camera', muted: boolean): Promise<void> {
    this.#update({ muted: { ...this.#snapshot.muted, [source]: muted } });
    const producer = this.#producers.get(source);
    if (producer === undefined || this.#peerId === null) return;
    if (muted) producer.pause();
    else producer.resume();
    const input = { ...this.#ref(), producerId: producer.id };
    await (muted ? this.#api.calls.pauseProducer.mutate(input) : this.#api.calls.resumeProducer.mutate(input));
  }

  /** The media server under the call restarted: the same peer joins again on a fresh router. */
  async #reconnect(): Promise<void> {
    this.#update({ phase: 'reconnecting', reason: 'media-server-restarted' });
    this.#closeMedia();
    const prepared = await this.#api.calls.prepare.mutate({ meetingId: this.#meetingId });
    this.#device = new Device();
    await this.#device.load({
      routerRtpCapabilities: prepared.routerRtpCapabilities,
    });
    await this.#enter(this.#snapshot.local, undefined);
  }

  async leave(): Promise<void> {
    this.#leaving = true;
    const ref = this.#peerId === null ? null : this.#ref();
    this.#teardown();
    this.#update({ phase: 'ended', reason: 'left' });
    if (ref !== null) await this.#api.calls.leave.mutate(ref).catch(() => undefined);
  }

  #closeMedia(): void {
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
    this.#update({ remote: [], peers: [], activeSpeaker: null });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
