/**
 * Call history: one `call_sessions` row per call (a room, from its first
 * joiner to its closing) and one `call_participations` row per stretch
 * someone spent in it, written as the room reports joins and leaves. The
 * writes are queued one after another (a participation never lands before
 * its session) and never hold up the call; a failed write is logged.
 *
 * A server that stops abruptly leaves sessions without an end: they show as
 * still running until the same meeting's next call closes them (`track`).
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { CallHistoryEntry, RecordingView } from '../../shared/calls.ts';
import type { Database } from '../db/schema.ts';
import { requireParticipant } from '../meetings/meetings.ts';
import { newId } from '../security/secrets.ts';
import type { CallRoom } from './room.ts';
import { recordingView, sessionRecordings, type RecordingTables } from './recording-store.ts';

export type CallSessionsTable = {
  id: string;
  meeting_id: string;
  started_at: number;
  ended_at: number | null;
};

export type CallParticipationsTable = {
  id: string;
  session_id: string;
  user_id: string;
  joined_at: number;
  left_at: number | null;
};

export type CallHistoryTables = {
  call_sessions: CallSessionsTable;
  call_participations: CallParticipationsTable;
};

type HistoryDb = Kysely<Database & CallHistoryTables & RecordingTables>;

const HISTORY_LIMIT = 50;

export class CallHistory {
  readonly #db: HistoryDb;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** The running call's session per meeting. */
  readonly #sessions = new Map<string, string>();
  #writes: Promise<void> = Promise.resolve();

  constructor(db: Kysely<Database>, logger: Logger, now: () => number = Date.now) {
    this.#db = db.withTables<CallHistoryTables & RecordingTables>();
    this.#logger = logger.child({ component: 'call-history' });
    this.#now = now;
  }

  #write(what: string, write: (db: HistoryDb) => Promise<unknown>): void {
    this.#writes = this.#writes
      .then(() => write(this.#db))
      .then(
        () => undefined,
        (err: unknown) => this.#logger.warn({ err }, `could not record ${what}`),
      );
  }

  /** Follows a new room until it closes: its session, and who was in it when. */
  track(room: CallRoom): void {
    const sessionId = newId();
    const meetingId = room.meetingId;
    const startedAt = this.#now();
    this.#sessions.set(meetingId, sessionId);
    this.#write('the call', async (db) => {
      // A session a crash left open ended, at the latest, when this one began.
      await db
        .updateTable('call_sessions')
        .set({ ended_at: startedAt })
        .where('meeting_id', '=', meetingId)
        .where('ended_at', 'is', null)
        .execute();
      await db
        .insertInto('call_sessions')
        .values({ id: sessionId, meeting_id: meetingId, started_at: startedAt, ended_at: null })
        .execute();
    });
    const open = new Map<string, string>(); // peer id → participation id
    const onJoin = ({ peerId, userId }: { peerId: string; userId: string }) => {
      // Guests by link have no account for the history to point at (calls/guests.ts).
      if (userId.startsWith('guest:')) return;
      const id = newId();
      open.set(peerId, id);
      const joinedAt = this.#now();
      this.#write('a participant joining', (db) =>
        db
          .insertInto('call_participations')
          .values({ id, session_id: sessionId, user_id: userId, joined_at: joinedAt, left_at: null })
          .execute(),
      );
    };
    const onLeave = ({ peerId }: { peerId: string }) => {
      const id = open.get(peerId);
      if (id === undefined) return;
      open.delete(peerId);
      const leftAt = this.#now();
      this.#write('a participant leaving', (db) =>
        db.updateTable('call_participations').set({ left_at: leftAt }).where('id', '=', id).execute(),
      );
    };
    room.media.on('peerjoin', onJoin);
    room.media.on('peerleave', onLeave);
    room.media.once('close', () => {
      room.media.off('peerjoin', onJoin);
      room.media.off('peerleave', onLeave);
      if (this.#sessions.get(meetingId) === sessionId) this.#sessions.delete(meetingId);
      const endedAt = this.#now();
      this.#write('the call ending', async (db) => {
        await db
          .updateTable('call_participations')
          .set({ left_at: endedAt })
          .where('session_id', '=', sessionId)
          .where('left_at', 'is', null)
          .execute();
        await db.updateTable('call_sessions').set({ ended_at: endedAt }).where('id', '=', sessionId).execute();
      });
    });
  }

  /** The session of the meeting's running call, if any. */
  sessionOf(meetingId: string): string | null {
    return this.#sessions.get(meetingId) ?? null;
  }

  /** Resolves when every write queued so far is done (before the database closes). */
  flush(): Promise<void> {
    return this.#writes;
  }

  /**
   * Calls, newest first: with `meetingId`, every call of that meeting (the
   * caller must belong to it: NOT_FOUND otherwise); without, the calls the
   * caller took part in, in meetings they still belong to.
   */
  async list(userId: string, meetingId: string | undefined, retentionDays: number): Promise<CallHistoryEntry[]> {
    if (meetingId !== undefined) await requireParticipant({ db: this.#db }, meetingId, userId);
    let query = this.#db
      .selectFrom('call_sessions')
      .innerJoin('meetings', 'meetings.id', 'call_sessions.meeting_id')
      .select([
        'call_sessions.id',
        'call_sessions.meeting_id',
        'call_sessions.started_at',
        'call_sessions.ended_at',
        'meetings.title',
      ]);
    if (meetingId !== undefined) {
      // Calls someone actually joined (a call is opened by `prepare`, before anyone is in it).
      query = query
        .where('call_sessions.meeting_id', '=', meetingId)
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('call_participations')
              .select('call_participations.id')
              .whereRef('call_participations.session_id', '=', 'call_sessions.id'),
          ),
        );
    } else {
      query = query
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('call_participations')
              .select('call_participations.id')
              .whereRef('call_participations.session_id', '=', 'call_sessions.id')
              .where('call_participations.user_id', '=', userId),
          ),
        )
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('meeting_participants')
              .select('meeting_participants.user_id')
              .whereRef('meeting_participants.meeting_id', '=', 'call_sessions.meeting_id')
              .where('meeting_participants.user_id', '=', userId),
          ),
        );
    }
    const sessions = await query
      .orderBy('call_sessions.started_at', 'desc')
      .orderBy('call_sessions.id', 'desc')
      .limit(HISTORY_LIMIT)
      .execute();
    if (sessions.length === 0) return [];
    const ids = sessions.map((s) => s.id);
    const people = await this.#db
      .selectFrom('call_participations')
      .innerJoin('users', 'users.id', 'call_participations.user_id')
      .select(['call_participations.session_id', 'call_participations.user_id', 'users.display_name'])
      .where('call_participations.session_id', 'in', ids)
      .orderBy('call_participations.joined_at', 'asc')
      .execute();
    const recordings = await sessionRecordings(this.#db, ids);
    return sessions.map((session): CallHistoryEntry => {
      const participants = new Map<string, { userId: string; displayName: string }>();
      for (const p of people) {
        if (p.session_id === session.id && !participants.has(p.user_id)) {
          participants.set(p.user_id, { userId: p.user_id, displayName: p.display_name });
        }
      }
      const made: RecordingView[] = recordings
        .filter((r) => r.session_id === session.id)
        .map((r) => recordingView(r, retentionDays));
      return {
        sessionId: session.id,
        meetingId: session.meeting_id,
        meetingTitle: session.title,
        startedAt: new Date(session.started_at),
        endedAt: session.ended_at === null ? null : new Date(session.ended_at),
        durationMs: session.ended_at === null ? null : session.ended_at - session.started_at,
        participants: [...participants.values()],
        recordings: made,
      };
    });
  }
}
