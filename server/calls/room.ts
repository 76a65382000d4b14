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
  CallRoomState,
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

/** A consumer and what decides whether it flows: the client is ready, the tile is seen, last-N picks it. */
export interface PeerConsumer {
  consumer: types.Consumer;
  source: MediaSource;
  /** The sender's peer id. */
  from: string;
  /** The client has wired the track up (`resumeConsumer`). */
  ready: boolean;
  /** The client's last report of its tile; video only. Unknown = visible. */
  view: { visible: boolean; width: number; height: number } | null;
}

/**
 * A router of the room on one worker. A room starts with one; when it has
 * `maxPeersPerRouter` people, the next ones get a router on another worker
 * (the least loaded), and every producer is piped to every router of the
 * room (pipeToRouter keeps the producer's id), so anyone can consume anyone.
 */
export interface RoomRouter {
  router: types.Router;
  worker: PooledWorker;
  peers: Set<string>;
}

export interface CallPeer {
  readonly id: string;
  readonly userId: string;
  readonly displayName: string;
  role: 'host' | 'participant';
  /** Waiting to be let in (waiting room): no media until admitted. */
  state: 'waiting' | 'in-call';
  rtpCapabilities: types.RtpCapabilities;
  readonly events: EventQueue<CallEvent>;
  readonly transports: Map<string, { transport: types.WebRtcTransport; direction: 'send' | 'recv' }>;
  readonly producers: Map<string, { producer: types.Producer; source: MediaSource }>;
  readonly consumers: Map<string, PeerConsumer>;
  /** Peers whose video this participant pinned (always forwarded, within last-N). */
  pinned: string[];
  /** Set while the peer's event stream is gone: it leaves when this fires (the reconnect grace period). */
  leaveTimer: NodeJS.Timeout | null;
  /** The router this peer's transports live on (set when it joins the call proper). */
  home: RoomRouter | null;
}

/** A producer as the room's own features see it (recording, last-N): whose it is and what it carries. */
export interface RoomProducer {
  producer: types.Producer;
  peerId: string;
  userId: string;
  displayName: string;
  source: MediaSource;
}

/** What happens in a room, for features that follow it on the server (recording, call history). */
export type RoomMediaEvents = {
  producer: [RoomProducer];
  producerclose: [RoomProducer];
  activespeaker: [peerId: string | null];
  /** Someone is in the call now (joined, or let in from the waiting room); not a resumed connection. */
  peerjoin: [CallPeerView];
  /** Someone left the call (not emitted for everyone at once when the room closes: see `close`). */
  peerleave: [CallPeerView];
  close: [];
};

export interface CallRoomOptions {
  /** How long a peer whose connection dropped stays in the call, waiting to resume. */
  reconnectGraceMs: number;
  /** Video forwarded to each participant: the N most relevant (pinned, screen shares, recent speakers). */
  lastN: number;
  /** People per router before the room spreads to another worker (pipeToRouter). */
  maxPeersPerRouter: number;
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
  /** The first router (recording and the active-speaker observer live on it), then any the room spread to. */
  readonly #routers: RoomRouter[];
  readonly #pool: WorkerPool;
  readonly #speakers: types.ActiveSpeakerObserver;
  readonly #logger: Logger;
  readonly #options: CallRoomOptions;
  #closed = false;
  #locked = false;
  #waitingRoom = false;
  readonly #waiting = new Map<string, CallPeer>();
  #hands: string[] = [];
  /** Peer ids, most recent speaker first (then join order): last-N's relevance. */
  #speakerOrder: string[] = [];
  /** Per receiver, the forwarded video last announced (to send `forwarding` only on change). */
  readonly #lastForwarding = new Map<string, string>();
  /** Producers appearing and going, the active speaker, the room closing: for server-side features. */
  readonly media = new EventEmitter<RoomMediaEvents>();
  /** Told when the room closes itself (last peer left, worker died), so the registry forgets it. */
  onClose: () => void = () => {};

  private constructor(
    meetingId: string,
    pool: WorkerPool,
    worker: PooledWorker,
    router: types.Router,
    speakers: types.ActiveSpeakerObserver,
    logger: Logger,
    options: CallRoomOptions,
  ) {
    this.meetingId = meetingId;
    this.#pool = pool;
    this.#routers = [{ router, worker, peers: new Set() }];
    this.#speakers = speakers;
    this.#logger = logger;
    this.#options = options;
    worker.rooms.add(meetingId);
    speakers.on('dominantspeaker', ({ producer }) => {
      const speaker = [...this.peers.values()].find((peer) => peer.producers.has(producer.id));
      this.#activeSpeaker = speaker?.id ?? null;
      this.#broadcast({ type: 'active-speaker', peerId: this.#activeSpeaker });
      this.media.emit('activespeaker', this.#activeSpeaker);
      if (speaker !== undefined && this.#speakerOrder[0] !== speaker.id) {
        this.#speakerOrder = [speaker.id, ...this.#speakerOrder.filter((id) => id !== speaker.id)];
        void this.#applyForwardingToAll().catch((err: unknown) => this.#logger.warn({ err }, 'last-N update failed'));
      }
    });
  }

  static async create(pool: WorkerPool, meetingId: string, logger: Logger, options: CallRoomOptions) {
    const worker = await pool.pick();
    const router = await worker.worker.createRouter({ mediaCodecs, appData: { meetingId } });
    const speakers = await router.createActiveSpeakerObserver({ interval: 300 });
    return new CallRoom(meetingId, pool, worker, router, speakers, logger.child({ meetingId }), options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The workers this room runs on (more than one once it spread). */
  get workerIndexes(): number[] {
    return this.#routers.map((slot) => slot.worker.index);
  }

  get #primary(): RoomRouter {
    return this.#routers[0]!;
  }

  /**
   * The router a newly admitted peer lives on: the least crowded one with
   * room, or a new one on the least loaded worker (every producer piped in).
   */
  async #assignHome(peer: CallPeer): Promise<RoomRouter> {
    if (peer.home !== null) return peer.home;
    let slot = this.#routers
      .filter((candidate) => candidate.peers.size < this.#options.maxPeersPerRouter)
      .sort((a, b) => a.peers.size - b.peers.size)[0];
    if (slot === undefined) {
      const worker = await this.#pool.pick();
      const router = await worker.worker.createRouter({ mediaCodecs, appData: { meetingId: this.meetingId } });
      slot = { router, worker, peers: new Set() };
      this.#routers.push(slot);
      worker.rooms.add(this.meetingId);
      this.#logger.info({ routers: this.#routers.length, worker: worker.index }, 'call spread to another router');
      for (const existing of this.producers()) await this.#pipe(existing.producer, existing.producer.appData, slot);
    }
    slot.peers.add(peer.id);
    peer.home = slot;
    return slot;
  }

  /** Makes a producer consumable on another of the room's routers (same id there). */
  async #pipe(producer: types.Producer, appData: types.AppData, to: RoomRouter): Promise<void> {
    const from = this.#routers.find((slot) => slot.router.id === (appData['routerId'] as string | undefined));
    if (from === undefined || from === to) return;
    await from.router.pipeToRouter({ producerId: producer.id, router: to.router });
  }

  #activeSpeaker: string | null = null;

  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
  }

  /** The room's first router (every producer is piped to it), for server-side consumers such as recording. */
  get router(): types.Router {
    return this.#primary.router;
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
    return this.#primary.router.rtpCapabilities;
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
    const previous = resumePeerId === undefined ? undefined : this.findPeer(resumePeerId);
    if (previous !== undefined && previous.userId === user.userId) {
      if (previous.leaveTimer !== null) clearTimeout(previous.leaveTimer);
      previous.leaveTimer = null;
      previous.rtpCapabilities = rtpCapabilities;
      // Its media went with the old connection: transports, producers and consumers start again.
      this.#dropMedia(previous);
      return { peer: previous, resumed: true };
    }
    if (this.#locked && user.role !== 'host') {
      throw new AppError('PRECONDITION_FAILED', {
        message: 'The host has locked this call: no one else can join for now.',
        details: { reason: 'locked' },
      });
    }
    // The same user joining again (a second window, a reload): the old peer leaves first.
    for (const other of [...this.peers.values(), ...this.#waiting.values()]) {
      if (other.userId === user.userId) this.leave(other);
    }
    const peer: CallPeer = {
      id: newId(),
      ...user,
      state: this.#waitingRoom && user.role !== 'host' ? 'waiting' : 'in-call',
      rtpCapabilities,
      events: new EventQueue<CallEvent>(),
      transports: new Map(),
      producers: new Map(),
      consumers: new Map(),
      pinned: [],
      leaveTimer: null,
      home: null,
    };
    if (peer.state === 'waiting') {
      this.#waiting.set(peer.id, peer);
      this.#logger.info({ peerId: peer.id, userId: peer.userId }, 'peer waiting to be let in');
      this.#broadcastRoomState();
      return { peer, resumed: false };
    }
    this.peers.set(peer.id, peer);
    this.#speakerOrder.push(peer.id);
    this.#broadcast({ type: 'peer-joined', peer: this.view(peer) }, peer.id);
    this.#logger.info({ peerId: peer.id, userId: peer.userId, peers: this.peers.size }, 'peer joined the call');
    this.media.emit('peerjoin', this.view(peer));
    return { peer, resumed: false };
  }

  /** A peer in the call or waiting to be let in. */
  findPeer(peerId: string): CallPeer | undefined {
    return this.peers.get(peerId) ?? this.#waiting.get(peerId);
  }

  peer(peerId: string): CallPeer {
    const peer = this.peers.get(peerId);
    if (peer === undefined) throw unknown('participant');
    return peer;
  }

  /** The shared state as `peer` may see it (only hosts see who is waiting). */
  roomState(peer: CallPeer): CallRoomState {
    return {
      locked: this.#locked,
      waitingRoom: this.#waitingRoom,
      hands: this.#hands.filter((id) => this.peers.has(id)),
      waiting: peer.role === 'host' ? [...this.#waiting.values()].map((p) => this.view(p)) : [],
    };
  }

  #broadcastRoomState(): void {
    for (const peer of this.peers.values()) peer.events.push({ type: 'room-state', room: this.roomState(peer) });
  }

  #requireHost(peer: CallPeer): void {
    if (peer.role !== 'host' || peer.state !== 'in-call') {
      throw new AppError('FORBIDDEN', { message: 'Only the host can do that.' });
    }
  }

  #target(targetPeerId: string): CallPeer {
    const target = this.peers.get(targetPeerId);
    if (target === undefined) throw unknown('participant');
    return target;
  }

  /** The host mutes a microphone, stops a camera (paused: the participant may start them again) or a screen share. */
  muteParticipant(host: CallPeer, targetPeerId: string, source: 'microphone' | 'camera' | 'screen'): void {
    this.#requireHost(host);
    const target = this.#target(targetPeerId);
    const entry = [...target.producers.values()].find((p) => p.source === source);
    if (entry === undefined) return;
    if (source === 'screen') entry.producer.close();
    else void entry.producer.pause();
    target.events.push({ type: 'muted-by-host', source });
  }

  muteAll(host: CallPeer): void {
    this.#requireHost(host);
    for (const peer of this.peers.values()) {
      if (peer.id !== host.id) this.muteParticipant(host, peer.id, 'microphone');
    }
  }

  removeParticipant(host: CallPeer, targetPeerId: string): void {
    this.#requireHost(host);
    const target = this.findPeer(targetPeerId);
    if (target === undefined) throw unknown('participant');
    if (target.id === host.id) throw new AppError('VALIDATION_FAILED', { message: 'Use Leave to leave the call.' });
    target.events.push({ type: 'call-ended', reason: target.state === 'waiting' ? 'denied' : 'removed' });
    this.leave(target);
  }

  /** Removes everyone (in the call or waiting) whose peer user id is listed: a revoked guest link. */
  removeUsers(userIds: ReadonlySet<string>): number {
    let removed = 0;
    for (const peer of [...this.peers.values(), ...this.#waiting.values()]) {
      if (!userIds.has(peer.userId)) continue;
      peer.events.push({ type: 'call-ended', reason: 'removed' });
      this.leave(peer);
      removed += 1;
    }
    return removed;
  }

  setLocked(host: CallPeer, locked: boolean): void {
    this.#requireHost(host);
    this.#locked = locked;
    this.#broadcastRoomState();
  }

  /** Turning the waiting room off lets everyone waiting in. */
  setWaitingRoom(host: CallPeer, enabled: boolean): void {
    this.#requireHost(host);
    this.#waitingRoom = enabled;
    if (!enabled) for (const waiting of [...this.#waiting.values()]) this.#admit(waiting);
    this.#broadcastRoomState();
  }

  admit(host: CallPeer, targetPeerId: string): void {
    this.#requireHost(host);
    const waiting = this.#waiting.get(targetPeerId);
    if (waiting === undefined) throw unknown('waiting participant');
    this.#admit(waiting);
    this.#broadcastRoomState();
  }

  #admit(waiting: CallPeer): void {
    this.#waiting.delete(waiting.id);
    waiting.state = 'in-call';
    this.peers.set(waiting.id, waiting);
    this.#speakerOrder.push(waiting.id);
    waiting.events.push({
      type: 'admitted',
      peers: [...this.peers.values()].filter((p) => p.id !== waiting.id).map((p) => this.view(p)),
    });
    waiting.events.push({ type: 'room-state', room: this.roomState(waiting) });
    this.#broadcast({ type: 'peer-joined', peer: this.view(waiting) }, waiting.id);
    this.#logger.info({ peerId: waiting.id, userId: waiting.userId }, 'peer let in from the waiting room');
    this.media.emit('peerjoin', this.view(waiting));
  }

  deny(host: CallPeer, targetPeerId: string): void {
    this.#requireHost(host);
    if (!this.#waiting.has(targetPeerId)) throw unknown('waiting participant');
    this.removeParticipant(host, targetPeerId);
  }

  raiseHand(peer: CallPeer, raised: boolean): void {
    if (peer.state !== 'in-call') throw unknown('participant');
    this.#hands = this.#hands.filter((id) => id !== peer.id);
    if (raised) this.#hands.push(peer.id);
    this.#broadcastRoomState();
  }

  lowerHand(host: CallPeer, targetPeerId: string): void {
    this.#requireHost(host);
    this.#hands = this.#hands.filter((id) => id !== targetPeerId);
    this.#broadcastRoomState();
  }

  /** The host role moved to another person in the call (the service has already recorded it). */
  hostChanged(from: CallPeer, to: CallPeer): void {
    from.role = 'participant';
    to.role = 'host';
    this.#broadcast({ type: 'peer-updated', peer: this.view(from) });
    this.#broadcast({ type: 'peer-updated', peer: this.view(to) });
    this.#broadcastRoomState();
  }

  /** The client's tile for a consumer: shown or not, and its size (picks the simulcast layer). */
  async setConsumerView(
    peer: CallPeer,
    consumerId: string,
    view: { visible: boolean; width: number; height: number },
  ): Promise<void> {
    const entry = peer.consumers.get(consumerId);
    if (entry === undefined) throw unknown('consumer');
    entry.view = view;
    if (entry.consumer.type === 'simulcast') {
      // Layers are 1/4, 1/2 and full size: the smallest that fills the tile.
      const spatialLayer = view.height <= 200 ? 0 : view.height <= 400 ? 1 : 2;
      await entry.consumer.setPreferredLayers({ spatialLayer });
    }
    await this.#applyForwarding(peer);
  }

  async pin(peer: CallPeer, pinnedPeerIds: string[]): Promise<void> {
    peer.pinned = pinnedPeerIds.filter((id) => id !== peer.id && this.peers.has(id));
    await this.#applyForwarding(peer);
  }

  /**
   * Last-N for one receiver: its video consumers in order of relevance —
   * pinned, screen shares, recent speakers, then who joined first — and the
   * first N of them flow (if the tile is visible); the rest are paused. Audio
   * always flows.
   */
  async #applyForwarding(receiver: CallPeer): Promise<void> {
    const rank = (entry: PeerConsumer): number[] => {
      const pinned = receiver.pinned.indexOf(entry.from);
      return [
        pinned === -1 ? 1 : 0,
        pinned,
        entry.source === 'screen' ? 0 : 1,
        this.#speakerOrder.indexOf(entry.from) === -1 ? Infinity : this.#speakerOrder.indexOf(entry.from),
      ];
    };
    const compare = (a: number[], b: number[]) => {
      for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return 0;
    };
    const videos = [...receiver.consumers.values()].filter((entry) => entry.consumer.kind === 'video');
    const chosen = new Set(
      videos
        .sort((a, b) => compare(rank(a), rank(b)))
        .slice(0, this.#options.lastN)
        .map((entry) => entry.consumer.id),
    );
    const forwarding: string[] = [];
    for (const entry of receiver.consumers.values()) {
      const isVideo = entry.consumer.kind === 'video';
      const wanted = entry.ready && (!isVideo || (chosen.has(entry.consumer.id) && entry.view?.visible !== false));
      if (wanted && entry.consumer.paused) await entry.consumer.resume();
      if (!wanted && !entry.consumer.paused) await entry.consumer.pause();
      if (isVideo && chosen.has(entry.consumer.id)) forwarding.push(entry.consumer.id);
    }
    const before = this.#lastForwarding.get(receiver.id);
    const key = forwarding.sort().join(',');
    if (before !== key) {
      this.#lastForwarding.set(receiver.id, key);
      receiver.events.push({ type: 'forwarding', consumerIds: forwarding });
    }
  }

  async #applyForwardingToAll(): Promise<void> {
    for (const peer of this.peers.values()) await this.#applyForwarding(peer);
  }

  async createTransport(peer: CallPeer, direction: 'send' | 'recv'): Promise<TransportOptions> {
    if (peer.state !== 'in-call') {
      throw new AppError('PRECONDITION_FAILED', { message: 'Wait until the host lets you in.' });
    }
    if ([...peer.transports.values()].some((t) => t.direction === direction)) {
      throw new AppError('CONFLICT', { message: `This participant already has a ${direction} transport.` });
    }
    const home = await this.#assignHome(peer);
    const transport = await home.router.createWebRtcTransport({
      webRtcServer: home.worker.webRtcServer,
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
      await this.#applyForwarding(peer);
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
        appData: { peerId: peer.id, source: input.source, routerId: peer.home?.router.id ?? null },
      });
    } catch (error) {
      throw refused('this track', error);
    }
    // Consumable on every router of the room (and recorded from the first).
    for (const slot of this.#routers) {
      if (slot !== peer.home) await this.#pipe(producer, producer.appData, slot);
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
      if (other.id !== peer.id) {
        await this.#offer(other, peer, producer, input.source);
        await this.#applyForwarding(other);
      }
    }
    return { producerId: producer.id };
  }

  /** A paused consumer for `receiver` of `sender`'s producer, offered through its events. */
  async #offer(receiver: CallPeer, sender: CallPeer, producer: types.Producer, source: MediaSource) {
    const recv = [...receiver.transports.values()].find((t) => t.direction === 'recv');
    if (recv === undefined) return; // offered when its receive transport appears
    const home = receiver.home ?? this.#primary;
    if (!home.router.canConsume({ producerId: producer.id, rtpCapabilities: receiver.rtpCapabilities })) {
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
    receiver.consumers.set(consumer.id, { consumer, source, from: sender.id, ready: false, view: null });
    home.worker.consumers += 1;
    const forget = () => {
      if (receiver.consumers.delete(consumer.id)) home.worker.consumers -= 1;
    };
    consumer.on('transportclose', forget);
    consumer.on('producerclose', () => {
      forget();
      receiver.events.push({ type: 'consumer-closed', consumerId: consumer.id });
      void this.#applyForwarding(receiver).catch(() => undefined);
    });
    consumer.on('producerpause', () => receiver.events.push({ type: 'consumer-paused', consumerId: consumer.id }));
    consumer.on('producerresume', () => receiver.events.push({ type: 'consumer-resumed', consumerId: consumer.id }));
    // Network quality for the tiles: mediasoup scores the way in and the way out. Told on change, at most once a
    // second, always ending on the latest value (a trailing send).
    let sent = '';
    let lastSentAt = 0;
    let timer: NodeJS.Timeout | null = null;
    const reportScore = () => {
      timer = null;
      if (consumer.closed) return;
      const { score, producerScore } = consumer.score;
      const key = `${score}:${producerScore}`;
      if (key === sent) return;
      const wait = lastSentAt + 1_000 - Date.now();
      if (wait > 0) {
        timer = setTimeout(reportScore, wait);
        timer.unref();
        return;
      }
      sent = key;
      lastSentAt = Date.now();
      receiver.events.push({ type: 'consumer-score', consumerId: consumer.id, score, producerScore });
    };
    consumer.on('score', () => {
      if (timer === null) reportScore();
    });
    consumer.observer.once('close', () => {
      if (timer !== null) clearTimeout(timer);
    });
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
    reportScore();
  }

  /** The client wired the track up: it flows if last-N and the tile's visibility allow. */
  async resumeConsumer(peer: CallPeer, consumerId: string): Promise<void> {
    const entry = peer.consumers.get(consumerId);
    if (entry === undefined) throw unknown('consumer');
    entry.ready = true;
    await this.#applyForwarding(peer);
  }

  /** The client does not want it for now (e.g. it hid the tile). */
  async pauseConsumer(peer: CallPeer, consumerId: string): Promise<void> {
    const entry = peer.consumers.get(consumerId);
    if (entry === undefined) throw unknown('consumer');
    entry.ready = false;
    await this.#applyForwarding(peer);
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
    if (this.#waiting.delete(peer.id)) {
      peer.events.close();
      this.#broadcastRoomState();
      return;
    }
    if (!this.peers.delete(peer.id)) return;
    if (peer.leaveTimer !== null) clearTimeout(peer.leaveTimer);
    this.#dropMedia(peer);
    peer.home?.peers.delete(peer.id);
    peer.events.close();
    this.#speakerOrder = this.#speakerOrder.filter((id) => id !== peer.id);
    this.#hands = this.#hands.filter((id) => id !== peer.id);
    this.#lastForwarding.delete(peer.id);
    this.#broadcast({ type: 'peer-left', peerId: peer.id });
    this.#logger.info({ peerId: peer.id, peers: this.peers.size }, 'peer left the call');
    this.media.emit('peerleave', this.view(peer));
    if (this.peers.size === 0) {
      // No one left to let them in: those waiting are told the call is over.
      for (const waiting of this.#waiting.values()) {
        waiting.events.push({ type: 'call-ended', reason: 'ended-by-host' });
        waiting.events.close();
      }
      this.#waiting.clear();
      this.close();
      return;
    }
    if (this.#hands.length > 0 || this.#waiting.size > 0) this.#broadcastRoomState();
    void this.#applyForwardingToAll().catch((err: unknown) => this.#logger.warn({ err }, 'last-N update failed'));
  }

  #dropMedia(peer: CallPeer): void {
    for (const { transport } of peer.transports.values()) transport.close();
    peer.transports.clear();
    peer.producers.clear();
    for (const { consumer } of peer.consumers.values()) consumer.close();
    if (peer.home !== null) peer.home.worker.consumers -= peer.consumers.size;
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
    for (const slot of this.#routers) slot.worker.rooms.delete(this.meetingId);
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
    for (const slot of this.#routers) {
      slot.router.close();
      slot.worker.rooms.delete(this.meetingId);
    }
    this.media.emit('close');
    this.onClose();
  }

  /** An event for everyone in the call and everyone waiting to be let in (e.g. recording started). */
  announce(event: CallEvent): void {
    this.#broadcast(event);
    for (const peer of this.#waiting.values()) peer.events.push(event);
  }

  #broadcast(event: CallEvent, except?: string): void {
    for (const peer of this.peers.values()) if (peer.id !== except) peer.events.push(event);
  }
}
