/**
 * In-call chat: messages written in a running call, sent to everyone in it
 * (a `chat` event) and kept with the meeting, so who joins later reads what
 * was said. Only people in the call may write (their own peer, checked by the
 * service); only the meeting's participants (and its guests) may read.
 * A message is plain text: the page renders it as text, never as markup.
 */
import type { Kysely } from 'kysely';
import type { ChatMessageView } from '../../shared/calls.ts';
import { AppError } from '../../shared/errors.ts';
import type { Database } from '../db/schema.ts';
import { newId } from '../security/secrets.ts';

export type CallMessagesTable = {
  id: string;
  meeting_id: string;
  sender_user_id: string | null;
  sender_guest_id: string | null;
  sender_name: string;
  body: string;
  created_at: number;
};
export type ChatTables = { call_messages: CallMessagesTable };

/** A burst allowance per person: more than this within the window is refused. */
const BURST = { messages: 10, windowMs: 10_000 };

const view = (row: CallMessagesTable): ChatMessageView => ({
  id: row.id,
  senderName: row.sender_name,
  senderUserId: row.sender_user_id,
  guest: row.sender_guest_id !== null,
  text: row.body,
  at: new Date(row.created_at),
});

export class CallChat {
  readonly #db: Kysely<ChatTables>;
  readonly #now: () => number;
  /** Recent sends per sender (user id or guest id), for the burst limit. */
  readonly #recent = new Map<string, number[]>();

  constructor(db: Kysely<Database>, now: () => number = Date.now) {
    this.#db = db.withTables<ChatTables>();
    this.#now = now;
  }

  async write(
    meetingId: string,
    sender: { userId: string | null; guestId: string | null; name: string },
    text: string,
  ): Promise<ChatMessageView> {
    const now = this.#now();
    const key = sender.userId ?? `guest:${sender.guestId}`;
    const recent = (this.#recent.get(key) ?? []).filter((at) => now - at < BURST.windowMs);
    if (recent.length >= BURST.messages) {
      throw new AppError('RATE_LIMITED', {
        message: 'You are sending messages too fast. Wait a few seconds.',
        details: { retryAfterSeconds: Math.ceil((recent[0]! + BURST.windowMs - now) / 1000) },
      });
    }
    this.#recent.set(key, [...recent, now]);
    const row: CallMessagesTable = {
      id: newId(),
      meeting_id: meetingId,
      sender_user_id: sender.userId,
      sender_guest_id: sender.guestId,
      sender_name: sender.name,
      body: text,
      created_at: now,
    };
    await this.#db.insertInto('call_messages').values(row).execute();
    return view(row);
  }

  /** The newest `limit` messages of a meeting, oldest first. */
  async list(meetingId: string, limit = 200): Promise<ChatMessageView[]> {
    const rows = await this.#db
      .selectFrom('call_messages')
      .selectAll()
      .where('meeting_id', '=', meetingId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse().map(view);
  }
}
