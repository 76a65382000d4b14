/**
 * One call: a mediasoup router on a pooled worker, its peers, and who
 * consumes what. Made by `CallRoom.create` (async: the router comes first).
 *
 * Consumption is server-driven: when a producer appears, the room creates a
 * paused consumer for every other peer that can receive it and sends it the
 * offer (`consumer` event); the peer resumes it once its track is wired up.
 * A peer whose receive transport appears later gets offers for everything
 * already produced. That keeps the choice of who receives what (last-N,
 * visibility) on the server.
 *
 * Every operation names its peer, and the peer its user: the service checks
 * the caller owns the peer before anything here runs. A client's bad input
 * (unknown ids, parameters mediasoup refuses) throws an AppError for that
 * client only; nothing it sends can close the router or touch another peer.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type {
  CallEvent,
  CallPeerView,
  IceServer,
  ConsumerOffer,
  MediaSource,
  TransportOptions,
} from '../../shared/calls.ts';
import { AppError } from '../../shared/errors.ts';
import { newId } from '../security/secrets.ts';
import { mediaCodecs } from './codecs.ts';
import { EventQueue } from './event-queue.ts';
import type { PooledWorker, WorkerPool } from './worker-pool.ts';

export interface CallPeer {
  readonly id: string;
  readonly userId: string;
  readonly displayName: string;
  readonly role: 'host' | 'participant';
  rtpCapabilities: types.RtpCapabilities;
  readonly events: EventQueue<CallEvent>;
  readonly transports: Map<string, { transport: types.WebRtcTransport; direction: 'send' | 'recv' }>;
  readonly producers: Map<string, { producer: types.Producer; source: MediaSource }>;
  readonly consumers: Map<string, types.Consumer>;
  /** Set while the peer's event stream is gone: it leaves when this fires (the reconnect grace period). */
  leaveTimer: NodeJS.Timeout | null;
}

/** A producer as the room's own features see it (recording, last-N): whose it is and what it carries. */
export interface RoomProducer {
  producer: types.Producer;
  peerId: string;
  userId: string;
  displayName: string;
  source: MediaSource;
}

/** What happens in a room, for features that follow it on the server (recording). */
export type RoomMediaEvents = {
  producer: [RoomProducer];
  producerclose: [RoomProducer];
  activespeaker: [peerId: string | null];
  close: [];
};

export interface CallRoomOptions {
  /** How long a peer whose connection dropped stays in the call, waiting to resume. */
  reconnectGraceMs: number;
  /** ICE servers handed to clients (TURN for restrictive networks). */
  iceServers: IceServer[];
}

/** mediasoup's own refusals (bad parameters) become the client's validation error, with mediasoup's words. */
function refused(what: string, error: unknown): AppError {
  const detail = error instanceof Error ? error.message : String(error);
  return new AppError('VALIDATION_FAILED', { message: `The media server refused ${what}: ${detail}`, cause: error });
}

const unknown = (what: string) => new AppError('NOT_FOUND', { message: `Unknown ${what} in this call.` });

export class CallRoom {
  readonly meetingId: string;
  readonly peers = new Map<string, CallPeer>();
  readonly #router: types.Router;
  readonly #worker: PooledWorker;
  readonly #speakers: types.ActiveSpeakerObserver;
  readonly #logger: Logger;
  readonly #options: CallRoomOptions;
  #closed = false;
  /** Producers appearing and going, the active speaker, the room closing: for server-side features. */
  readonly media = new EventEmitter<RoomMediaEvents>();
  /** Told when the room closes itself (last peer left, worker died), so the registry forgets it. */
  onClose: () => void = () => {};

  private constructor(
    meetingId: string,
    worker: PooledWorker,
    router: types.Router,
    speakers: types.ActiveSpeakerObserver,
    logger: Logger,
    options: CallRoomOptions,
  ) {
    this.meetingId = meetingId;
    this.#worker = worker;
    this.#router = router;
    this.#speakers = speakers;
    this.#logger = logger;
    this.#options = options;
    worker.rooms.add(meetingId);
    speakers.on('dominantspeaker', ({ producer }) => {
      const speaker = [...this.peers.values()].find((peer) => peer.producers.has(producer.id));
      this.#activeSpeaker = speaker?.id ?? null;
      this.#broadcast({ type: 'active-speaker', peerId: this.#activeSpeaker });
      this.media.emit('activespeaker', this.#activeSpeaker);
    });
  }

  static async create(pool: WorkerPool, meetingId: string, logger: Logger, options: CallRoomOptions) {
    const worker = await pool.pick();
    const router = await worker.worker.createRouter({ mediaCodecs, appData: { meetingId } });
    const speakers = await router.createActiveSpeakerObserver({ interval: 300 });
    return new CallRoom(meetingId, worker, router, speakers, logger.child({ meetingId }), options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get workerIndex(): number {
    return this.#worker.index;
  }

  #activeSpeaker: string | null = null;

  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
  }

  /** The room's router, for server-side consumers (recording through PlainTransports). Never closed by them. */
  get router(): types.Router {
    return this.#router;
  }

  /** Every producer in the room now. */
  producers(): RoomProducer[] {
    return [...this.peers.values()].flatMap((peer) =>
      [...peer.producers.values()].map(({ producer, source }) => this.#roomProducer(peer, producer, source)),
    );
  }

  #roomProducer(peer: CallPeer, producer: types.Producer, source: MediaSource): RoomProducer {
    return { producer, peerId: peer.id, userId: peer.userId, displayName: peer.displayName, source };
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#router.rtpCapabilities;
  }

  get iceServers(): CallRoomOptions['iceServers'] {
    return this.#options.iceServers;
  }

  view(peer: CallPeer): CallPeerView {
    return { peerId: peer.id, userId: peer.userId, displayName: peer.displayName, role: peer.role };
  }

  /** A new peer, or the same one again within the grace period after its connection dropped. */
  join(
    user: { userId: string; displayName: string; role: 'host' | 'participant' },
    rtpCapabilities: types.RtpCapabilities,
    resumePeerId: string | undefined,
  ): { peer: CallPeer; resumed: boolean } {
    if (this.#closed) throw new AppError('PRECONDITION_FAILED', { message: 'This call has ended.' });
    const previous = resumePeerId === undefined ? undefined : this.peers.get(resumePeerId);
    if (previous !== undefined && previous.userId === user.userId) {
      if (previous.leaveTimer !== null) clearTimeout(previous.leaveTimer);
      previous.leaveTimer = null;
      previous.rtpCapabilities = rtpCapabilities;
      // Its media went with the old connection: transports, producers and consumers start again.
      this.#dropMedia(previous);
      return { peer: previous, resumed: true };
    }
    // The same user joining again (a second window, a reload): the old peer leaves first.
    for (const other of this.peers.values()) if (other.userId === user.userId) this.leave(other);
    const peer: CallPeer = {
      id: newId(),
      ...user,
      rtpCapabilities,
      events: new EventQueue<CallEvent>(),
      transports: new Map(),
      producers: new Map(),
      consumers: new Map(),
      leaveTimer: null,
    };
    this.peers.set(peer.id, peer);
    this.#broadcast({ type: 'peer-joined', peer: this.view(peer) }, peer.id);
    this.#logger.info({ peerId: peer.id, userId: peer.userId, peers: this.peers.size }, 'peer joined the call');
    return { peer, resumed: false };
  }

  peer(peerId: string): CallPeer {
    const peer = this.peers.get(peerId);
    if (peer === undefined) throw unknown('participant');
    return peer;
  }

  async createTransport(peer: CallPeer, direction: 'send' | 'recv'): Promise<TransportOptions> {
    if ([...peer.transports.values()].some((t) => t.direction === direction)) {
      throw new AppError('CONFLICT', { message: `This participant already has a ${direction} transport.` });
    }
    const transport = await this.#router.createWebRtcTransport({
      webRtcServer: this.#worker.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { peerId: peer.id, direction },
    });
    peer.transports.set(transport.id, { transport, direction });
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') {
        this.#logger.warn({ peerId: peer.id, transportId: transport.id, state }, 'transport DTLS ended');
      }
    });
    if (direction === 'recv') {
      // Everything already produced by others.
      for (const other of this.peers.values()) {
        if (other.id === peer.id) continue;
        for (const { producer, source } of other.producers.values()) await this.#offer(peer, other, producer, source);
      }
    }
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(peer: CallPeer, transportId: string, dtlsParameters: unknown): Promise<void> {
    const entry = peer.transports.get(transportId);
    if (entry === undefined) throw unknown('transport');
    try {
      await entry.transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters });
    } catch (error) {
      throw refused('the transport connection', error);
    }
  }

  async produce(
    peer: CallPeer,
    input: { transportId: string; kind: 'audio' | 'video'; rtpParameters: unknown; source: MediaSource },
  ): Promise<{ producerId: string }> {
    const entry = peer.transports.get(input.transportId);
    if (entry === undefined || entry.direction !== 'send') throw unknown('send transport');
    const expectedKind = input.source === 'microphone' || input.source === 'screen-audio' ? 'audio' : 'video';
    if (input.kind !== expectedKind) {
      throw new AppError('VALIDATION_FAILED', { message: `A ${input.source} track must be ${expectedKind}.` });
    }
    if ([...peer.producers.values()].some((p) => p.source === input.source)) {
      throw new AppError('CONFLICT', { message: `This participant already sends a ${input.source} track.` });
    }
    let producer: types.Producer;
    try {
      producer = await entry.transport.produce({
        kind: input.kind,
        rtpParameters: input.rtpParameters as types.RtpParameters,
        appData: { peerId: peer.id, source: input.source },
      });
    } catch (error) {
      throw refused('this track', error);
    }
    peer.producers.set(producer.id, { producer, source: input.source });
    const announced = this.#roomProducer(peer, producer, input.source);
    producer.observer.once('close', () => {
      peer.producers.delete(producer.id);
      this.media.emit('producerclose', announced);
    });
    this.media.emit('producer', announced);
    if (input.kind === 'audio') await this.#speakers.addProducer({ producerId: producer.id }).catch(() => {});
    for (const other of this.peers.values()) {
      if (other.id !== peer.id) await this.#offer(other, peer, producer, input.source);
    }
    return { producerId: producer.id };
  }

  /** A paused consumer for `receiver` of `sender`'s producer, offered through its events. */
  async #offer(receiver: CallPeer, sender: CallPeer, producer: types.Producer, source: MediaSource) {
    const recv = [...receiver.transports.values()].find((t) => t.direction === 'recv');
    if (recv === undefined) return; // offered when its receive transport appears
    if (!this.#router.canConsume({ producerId: producer.id, rtpCapabilities: receiver.rtpCapabilities })) {
      this.#logger.warn({ peerId: receiver.id, producerId: producer.id }, 'peer cannot receive this codec');
      return;
    }
    let consumer: types.Consumer;
    try {
      consumer = await recv.transport.consume({
        producerId: producer.id,
        rtpCapabilities: receiver.rtpCapabilities,
        paused: true,
        appData: { peerId: receiver.id, source },
      });
    } catch (error) {
      this.#logger.warn({ err: error, peerId: receiver.id, producerId: producer.id }, 'could not create a consumer');
      return;
    }
    receiver.consumers.set(consumer.id, consumer);
    this.#worker.consumers += 1;
    const forget = () => {
      if (receiver.consumers.delete(consumer.id)) this.#worker.consumers -= 1;
    };
    consumer.on('transportclose', forget);
    consumer.on('producerclose', () => {
      forget();
      receiver.events.push({ type: 'consumer-closed', consumerId: consumer.id });
    });
    consumer.on('producerpause', () => receiver.events.push({ type: 'consumer-paused', consumerId: consumer.id }));
    consumer.on('producerresume', () => receiver.events.push({ type: 'consumer-resumed', consumerId: consumer.id }));
    const offer: ConsumerOffer = {
      id: consumer.id,
      producerId: producer.id,
      peerId: sender.id,
      kind: consumer.kind,
      source,
      rtpParameters: consumer.rtpParameters,
      producerPaused: consumer.producerPaused,
    };
    receiver.events.push({ type: 'consumer', consumer: offer });
  }

  async resumeConsumer(peer: CallPeer, consumerId: string): Promise<void> {
    const consumer = peer.consumers.get(consumerId);
    if (consumer === undefined) throw unknown('consumer');
    await consumer.resume();
  }

  async pauseConsumer(peer: CallPeer, consumerId: string): Promise<void> {
    const consumer = peer.consumers.get(consumerId);
    if (consumer === undefined) throw unknown('consumer');
    await consumer.pause();
  }

  async setProducerPaused(peer: CallPeer, producerId: string, paused: boolean): Promise<void> {
    const entry = peer.producers.get(producerId);
    if (entry === undefined) throw unknown('track');
    if (paused) await entry.producer.pause();
    else await entry.producer.resume();
  }

  closeProducer(peer: CallPeer, producerId: string): void {
    const entry = peer.producers.get(producerId);
    if (entry === undefined) throw unknown('track');
    entry.producer.close();
    peer.producers.delete(producerId);
  }

  /** The peer's event stream dropped: keep it for the grace period, then let it go. */
  disconnected(peer: CallPeer): void {
    if (!this.peers.has(peer.id) || peer.leaveTimer !== null) return;
    peer.leaveTimer = setTimeout(() => this.leave(peer), this.#options.reconnectGraceMs);
    peer.leaveTimer.unref();
  }

  leave(peer: CallPeer): void {
    if (!this.peers.delete(peer.id)) return;
    if (peer.leaveTimer !== null) clearTimeout(peer.leaveTimer);
    this.#dropMedia(peer);
    peer.events.close();
    this.#broadcast({ type: 'peer-left', peerId: peer.id });
    this.#logger.info({ peerId: peer.id, peers: this.peers.size }, 'peer left the call');
    if (this.peers.size === 0) this.close();
  }

  #dropMedia(peer: CallPeer): void {
    for (const { transport } of peer.transports.values()) transport.close();
    peer.transports.clear();
    peer.producers.clear();
    for (const consumer of peer.consumers.values()) consumer.close();
    this.#worker.consumers -= peer.consumers.size;
    peer.consumers.clear();
  }

  /** Ends the call for everyone (the host ended the meeting, or the server is stopping). */
  end(reason: 'ended-by-host'): void {
    for (const peer of this.peers.values()) {
      peer.events.push({ type: 'call-ended', reason });
      peer.events.close();
    }
    this.close();
  }

  /** The worker under this room died: every peer must reconnect (to a new room on a live worker). */
  workerDied(): void {
    for (const peer of this.peers.values()) {
      peer.events.push({ type: 'reconnect', reason: 'media-server-restarted' });
      peer.events.close();
    }
    this.#closed = true;
    this.#worker.rooms.delete(this.meetingId);
    this.peers.clear();
    this.media.emit('close');
    this.onClose();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of this.peers.values()) {
      if (peer.leaveTimer !== null) clearTimeout(peer.leaveTimer);
      this.#dropMedia(peer);
      peer.events.close();
    }
    this.peers.clear();
    this.#router.close();
    this.#worker.rooms.delete(this.meetingId);
    this.media.emit('close');
    this.onClose();
  }

  #broadcast(event: CallEvent, except?: string): void {
    for (const peer of this.peers.values()) if (peer.id !== except) peer.events.push(event);
  }
}
