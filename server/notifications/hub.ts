/**
 * Notifications for a signed-in user, live: an in-process publish/subscribe
 * per user. Every open `notifications.stream` (one per device or tab) gets
 * its own queue, so each of the user's devices sees each notification.
 *
 * In-process means a notification reaches the user's connections on the
 * node that published it. With several API nodes, the reminder loop runs on
 * each and a reminder is claimed by one of them (server/meetings/reminders.ts);
 * users connected elsewhere still get the reminder mail. Fanning out across
 * nodes (Redis pub/sub) belongs here when scale-out needs it.
 */
import { EventQueue } from '../calls/event-queue.ts';
import type { ServerDeps } from '../context.ts';

export interface MeetingReminderNotification {
  kind: 'meeting-reminder';
  meetingId: string;
  title: string;
  startsAt: Date;
  /** How long before the start it was sent (the server's MEETING_REMINDER_MINUTES). */
  minutesBefore: number;
}

export type UserNotification = MeetingReminderNotification;

/** A notification stream that stops reading is dropped after this many unread notifications. */
const QUEUE_LIMIT = 200;

export class NotificationHub {
  readonly #listeners = new Map<string, Set<EventQueue<UserNotification>>>();

  /** Sends to every open stream of the user; answers how many streams got it. */
  publish(userId: string, notification: UserNotification): number {
    let delivered = 0;
    for (const queue of this.#listeners.get(userId) ?? []) {
      if (queue.push(notification)) delivered++;
      else queue.close();
    }
    return delivered;
  }

  /** Open streams of a user (for tests and status). */
  listeners(userId: string): number {
    return this.#listeners.get(userId)?.size ?? 0;
  }

  /** The user's notifications from now on, until `signal` aborts. */
  async *stream(userId: string, signal: AbortSignal): AsyncGenerator<UserNotification, void, undefined> {
    const queue = new EventQueue<UserNotification>(QUEUE_LIMIT);
    let mine = this.#listeners.get(userId);
    if (mine === undefined) this.#listeners.set(userId, (mine = new Set()));
    mine.add(queue);
    try {
      yield* queue.read(signal);
    } finally {
      queue.close();
      mine.delete(queue);
      if (mine.size === 0 && this.#listeners.get(userId) === mine) this.#listeners.delete(userId);
    }
  }
}

// One hub per running server. Kept beside the deps object (rather than in ServerDeps, which this domain
// does not own) so the router and the reminder loop of one server share it and two servers in one
// process (tests) do not.
const hubs = new WeakMap<object, NotificationHub>();

export function notificationHub(deps: object): NotificationHub {
  let hub = hubs.get(deps);
  if (hub === undefined) hubs.set(deps, (hub = new NotificationHub()));
  return hub;
}

/** `notifications.stream`: the caller's notifications until they leave or the server drains. */
export async function* notificationStream(
  deps: ServerDeps,
  userId: string,
  signal: AbortSignal,
): AsyncGenerator<UserNotification, void, undefined> {
  const done = new AbortController();
  const stop = () => done.abort();
  signal.addEventListener('abort', stop, { once: true });
  if (deps.lifecycle.state === 'draining' || deps.lifecycle.state === 'stopped') return;
  // A draining server ends its streams so sockets can close; clients reconnect to a node that is up.
  void (async () => {
    for await (const state of deps.lifecycle.changes(done.signal)) {
      if (state === 'draining' || state === 'stopped') return stop();
    }
  })().catch(() => undefined);
  try {
    yield* notificationHub(deps).stream(userId, done.signal);
  } finally {
    signal.removeEventListener('abort', stop);
    stop();
  }
}
