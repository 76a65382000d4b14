/**
 * Calls: one `CallRoom` per meeting whose call is running, on the worker pool.
 * Every entry point checks, from the database, that the caller belongs to the
 * meeting (meetings.ts `requireParticipant`, or for a guest by link
 * guests.ts `requireGuestMember`) and that the peer they name is theirs: a
 * caller can never join, consume or signal for a call that is not theirs, nor
 * act as another peer in it. A guest's peer is `guest:<guestId>`, always a
 * participant, so the waiting room and the lock apply to them.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type {
  CallEvent,
  CallJoinAnswer,
  CallPrepareAnswer,
  MediaSource,
  TransportOptions,
} from '../../shared/calls.ts';
import { AppError } from '../../shared/errors.ts';
import type { Database } from '../db/schema.ts';
import { requireParticipant } from '../meetings/meetings.ts';
import type { Caller } from '../trpc.ts';
import { requireGuestMember } from './guests.ts';
import { CallChat } from './chat.ts';
import { CallHistory } from './history.ts';
import { RecordingService, type RecordingConfig } from './recording.ts';
import { CallRoom, type CallPeer, type CallRoomOptions } from './room.ts';
import { WorkerPool, type WorkerPoolConfig } from './worker-pool.ts';

export interface CallsConfig extends WorkerPoolConfig, CallRoomOptions {
  recording: RecordingConfig;
}

export class CallService {
  readonly pool: WorkerPool;
  readonly #rooms = new Map<string, CallRoom>();
  /** Rooms being made, so two first joiners share one. */
  readonly #opening = new Map<string, Promise<CallRoom>>();
  readonly #db: Kysely<Database>;
  readonly #logger: Logger;
  readonly #config: CallsConfig;
  /** Who was in which call, when (history.ts). */
  readonly history: CallHistory;
  /** In-call chat (chat.ts). */
  readonly chat: CallChat;
  /** Server-side recordings of running calls and their files (recording.ts). */
  readonly recordings: RecordingService;

  constructor(config: CallsConfig, db: Kysely<Database>, logger: Logger) {
    this.#config = config;
    this.#db = db;
    this.#logger = logger;
    this.pool = new WorkerPool(config, logger);
    this.history = new CallHistory(db, logger);
    this.chat = new CallChat(db);
    this.recordings = new RecordingService(config.recording, db, logger, this, this.history);
    this.pool.onWorkerDied = (meetingIds) => {
      for (const meetingId of meetingIds) this.#rooms.get(meetingId)?.workerDied();
    };
  }

  async #member(caller: Caller, meetingId: string): Promise<{ role: 'host' | 'participant'; displayName: string }> {
    if (caller.kind === 'guest') {
      const { displayName } = await requireGuestMember({ db: this.#db }, caller, meetingId);
      return { role: 'participant', displayName };
    }
    const { role, meeting } = await requireParticipant({ db: this.#db }, meetingId, caller.userId);
    if (meeting.ended_at !== null) {
      throw new AppError('PRECONDITION_FAILED', { message: 'This meeting has ended.', details: { reason: 'ended' } });
    }
    const user = await this.#db
      .selectFrom('users')
      .select(['display_name'])
      .where('id', '=', caller.userId)
      .executeTakeFirstOrThrow();
    return { role, displayName: user.display_name };
  }

  async #room(meetingId: string): Promise<CallRoom> {
    const open = this.#rooms.get(meetingId);
    if (open !== undefined && !open.closed) return open;
    let opening = this.#opening.get(meetingId);
    if (opening === undefined) {
      opening = CallRoom.create(this.pool, meetingId, this.#logger, this.#config).then((room) => {
        this.#rooms.set(meetingId, room);
        this.history.track(room);
        room.onClose = () => {
          if (this.#rooms.get(meetingId) === room) this.#rooms.delete(meetingId);
        };
        return room;
      });
      this.#opening.set(meetingId, opening);
      void opening.finally(() => this.#opening.delete(meetingId)).catch(() => {});
    }
    return opening;
  }

  /** The caller's peer in a running call; NOT_FOUND for anyone else's (or a call that is over). */
  async #own(caller: Caller, meetingId: string, peerId: string): Promise<{ room: CallRoom; peer: CallPeer }> {
    await this.#member(caller, meetingId);
    const room = this.#rooms.get(meetingId);
    const peer = room?.findPeer(peerId);
    if (room === undefined || peer === undefined || peer.userId !== peerUserId(caller)) {
      throw new AppError('NOT_FOUND', { message: 'You are not in this call (it may have ended). Join it again.' });
    }
    return { room, peer };
  }

  /** What a device needs before joining: the router's codecs and the ICE servers. Opens the call if needed. */
  async prepare(caller: Caller, meetingId: string): Promise<CallPrepareAnswer> {
    await this.#member(caller, meetingId);
    const room = await this.#room(meetingId);
    return {
      routerRtpCapabilities: room.rtpCapabilities as unknown as Record<string, unknown>,
      iceServers: room.iceServers,
    };
  }

  async join(
    caller: Caller,
    input: { meetingId: string; rtpCapabilities: Record<string, unknown>; resumePeerId?: string | undefined },
  ): Promise<CallJoinAnswer> {
    const { role, displayName } = await this.#member(caller, input.meetingId);
    const room = await this.#room(input.meetingId);
    const { peer, resumed } = room.join(
      { userId: peerUserId(caller), displayName, role },
      input.rtpCapabilities,
      input.resumePeerId,
    );
    const waiting = peer.state === 'waiting';
    return {
      peerId: peer.id,
      waiting,
      room: room.roomState(peer),
      self: room.view(peer),
      // Someone waiting to be let in learns nothing about who is inside.
      peers: waiting ? [] : [...room.peers.values()].filter((p) => p.id !== peer.id).map((p) => room.view(p)),
      resumed,
      recording: this.recordings.isRecording(input.meetingId),
    };
  }

  /** The peer's events until it leaves; when the stream drops, the peer is kept for the reconnect grace period. */
  async *events(
    caller: Caller,
    input: { meetingId: string; peerId: string },
    signal: AbortSignal,
  ): AsyncGenerator<CallEvent, void, undefined> {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    if (peer.leaveTimer !== null) {
      clearTimeout(peer.leaveTimer);
      peer.leaveTimer = null;
    }
    try {
      // Every (re)subscription starts from the call's current shared state.
      yield { type: 'room-state', room: room.roomState(peer) };
      yield* peer.events.read(signal);
    } finally {
      if (signal.aborted) room.disconnected(peer);
    }
  }

  async createTransport(
    caller: Caller,
    input: { meetingId: string; peerId: string; direction: 'send' | 'recv' },
  ): Promise<TransportOptions> {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    return room.createTransport(peer, input.direction);
  }

  async connectTransport(
    caller: Caller,
    input: { meetingId: string; peerId: string; transportId: string; dtlsParameters: Record<string, unknown> },
  ): Promise<void> {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    await room.connectTransport(peer, input.transportId, input.dtlsParameters);
  }

  async produce(
    caller: Caller,
    input: {
      meetingId: string;
      peerId: string;
      transportId: string;
      kind: 'audio' | 'video';
      rtpParameters: Record<string, unknown>;
      source: MediaSource;
    },
  ): Promise<{ producerId: string }> {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    return room.produce(peer, input);
  }

  async resumeConsumer(caller: Caller, input: { meetingId: string; peerId: string; consumerId: string }) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    await room.resumeConsumer(peer, input.consumerId);
  }

  async pauseConsumer(caller: Caller, input: { meetingId: string; peerId: string; consumerId: string }) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    await room.pauseConsumer(peer, input.consumerId);
  }

  async setProducerPaused(
    caller: Caller,
    input: { meetingId: string; peerId: string; producerId: string },
    paused: boolean,
  ) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    await room.setProducerPaused(peer, input.producerId, paused);
  }

  async closeProducer(caller: Caller, input: { meetingId: string; peerId: string; producerId: string }) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    room.closeProducer(peer, input.producerId);
  }

  async setConsumerView(
    caller: Caller,
    input: { meetingId: string; peerId: string; consumerId: string; visible: boolean; width: number; height: number },
  ) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    await room.setConsumerView(peer, input.consumerId, input);
  }

  async pin(caller: Caller, input: { meetingId: string; peerId: string; pinnedPeerIds: string[] }) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    await room.pin(peer, input.pinnedPeerIds);
  }

  async raiseHand(caller: Caller, input: { meetingId: string; peerId: string; raised: boolean }) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    room.raiseHand(peer, input.raised);
  }

  /** Host controls: the caller's own peer must be the host's, in the call. */
  async host(
    userId: string,
    input: { meetingId: string; peerId: string },
    action: (room: CallRoom, host: CallPeer) => void | Promise<void>,
  ): Promise<void> {
    const { room, peer } = await this.#own({ kind: 'user', userId }, input.meetingId, input.peerId);
    if (peer.role !== 'host') throw new AppError('FORBIDDEN', { message: 'Only the host can do that.' });
    await action(room, peer);
  }

  /** The host hands the role to someone in the call: recorded on the meeting, then told to everyone. */
  async transferHost(userId: string, input: { meetingId: string; peerId: string; targetPeerId: string }) {
    await this.host(userId, input, async (room, host) => {
      const target = room.peer(input.targetPeerId);
      if (target.id === host.id) return;
      // The host is a meeting's account holder: a guest by link has no account to hold it.
      if (target.userId.startsWith('guest:'))
        throw new AppError('FORBIDDEN', { message: 'A guest cannot be made the host.' });
      await this.#db.transaction().execute(async (tx) => {
        await tx.updateTable('meetings').set({ host_id: target.userId }).where('id', '=', input.meetingId).execute();
        await tx
          .updateTable('meeting_participants')
          .set({ role: 'participant' })
          .where('meeting_id', '=', input.meetingId)
          .where('user_id', '=', host.userId)
          .execute();
        await tx
          .updateTable('meeting_participants')
          .set({ role: 'host' })
          .where('meeting_id', '=', input.meetingId)
          .where('user_id', '=', target.userId)
          .execute();
      });
      room.hostChanged(host, target);
    });
  }

  /** Writes in the running call as the caller's own peer; everyone in it (and waiting) gets it at once. */
  async sendChat(caller: Caller, input: { meetingId: string; peerId: string; text: string }) {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    if (peer.state !== 'in-call') {
      throw new AppError('PRECONDITION_FAILED', { message: 'Wait until the host lets you in.' });
    }
    const message = await this.chat.write(
      input.meetingId,
      {
        userId: caller.kind === 'user' ? caller.userId : null,
        guestId: caller.kind === 'guest' ? caller.guestId : null,
        name: peer.displayName,
      },
      input.text,
    );
    room.announce({ type: 'chat', message });
    return message;
  }

  /** The meeting's messages, for its participants and guests (also after the call). */
  async chatHistory(caller: Caller, meetingId: string) {
    if (caller.kind === 'guest') await this.#member(caller, meetingId);
    else await requireParticipant({ db: this.#db }, meetingId, caller.userId);
    return this.chat.list(meetingId);
  }

  async leave(caller: Caller, input: { meetingId: string; peerId: string }): Promise<void> {
    const { room, peer } = await this.#own(caller, input.meetingId, input.peerId);
    room.leave(peer);
  }

  /** Ends the given people's presence in a meeting's running call (`call-ended: removed`). Returns how many. */
  removePeersOf(meetingId: string, peerUserIds: readonly string[]): number {
    const room = this.runningRoom(meetingId);
    if (room === undefined) return 0;
    return room.removeUsers(new Set(peerUserIds));
  }

  /** The running call of a meeting, if any (for server-side features such as recording). */
  runningRoom(meetingId: string): CallRoom | undefined {
    const room = this.#rooms.get(meetingId);
    return room === undefined || room.closed ? undefined : room;
  }

  /** The meeting ended: its call closes for everyone. */
  endCall(meetingId: string): void {
    this.#rooms.get(meetingId)?.end('ended-by-host');
  }

  /** Who is in a meeting's call right now (user ids), for the meeting list. */
  inCall(meetingId: string): string[] {
    return [...(this.#rooms.get(meetingId)?.peers.values() ?? [])].map((peer) => peer.userId);
  }

  async close(): Promise<void> {
    // Recordings finish their files while their calls still run; history is written before the database closes.
    await this.recordings.close();
    for (const room of this.#rooms.values()) room.close();
    this.#rooms.clear();
    await this.history.flush();
    await this.pool.close();
  }
}

/** The peer's `userId`: a user's id, or `guest:<guestId>` (never an account's id). */
export function peerUserId(caller: Caller): string {
  return caller.kind === 'user' ? caller.userId : `guest:${caller.guestId}`;
}
