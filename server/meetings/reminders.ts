/**
 * Meeting reminders: MEETING_REMINDER_MINUTES before a scheduled meeting
 * starts, each participant gets a live notification (`notifications.stream`,
 * which the desktop app shows natively) and a reminder mail.
 *
 * A loop on every server node looks for meetings starting soon. Each
 * reminder is claimed before it is sent by inserting its key (meeting, user,
 * start) into `meeting_reminders`: the insert succeeds for exactly one
 * claimant, whichever node or run it is, so a reminder goes out once across
 * restarts and nodes. Claim-then-send means at most once: a node that dies
 * between the two loses that reminder rather than send it twice. A meeting
 * moved to a new start is a new key, so it is reminded of again.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { MINUTE_MS } from '../../shared/schedule.ts';
import type { Database } from '../db/schema.ts';
import type { OutgoingMail } from '../delivery/mail.ts';
import type { NotificationHub } from '../notifications/hub.ts';
import { describeWhen, meetingLinks, meetingRecipients, subjectText } from './scheduling.ts';

export interface ReminderDeps {
  db: Kysely<Database>;
  mailer: { send(mail: OutgoingMail): Promise<unknown> };
  logger: Logger;
  notifications: NotificationHub;
  publicOrigin: () => string;
  /** 0 turns reminders off. */
  reminderMinutes: number;
}

/** How often the loop looks; a reminder is at most this late. */
export const REMINDER_TICK_MS = 30_000;

/** One pass: sends every reminder due at `now` that nobody has claimed yet. Answers how many it sent. */
export async function sendDueReminders(deps: ReminderDeps, now: number): Promise<number> {
  if (deps.reminderMinutes <= 0) return 0;
  const due = await deps.db
    .selectFrom('meetings')
    .select(['id', 'title', 'starts_at', 'ends_at', 'time_zone'])
    .where('kind', '=', 'scheduled')
    .where('ended_at', 'is', null)
    .where('starts_at', '>', now)
    .where('starts_at', '<=', now + deps.reminderMinutes * MINUTE_MS)
    .orderBy('starts_at', 'asc')
    .limit(500)
    .execute();
  let sent = 0;
  for (const meeting of due) {
    const startsAt = meeting.starts_at!;
    for (const person of await meetingRecipients(deps, meeting.id)) {
      const claim = await deps.db
        .insertInto('meeting_reminders')
        .values({ meeting_id: meeting.id, user_id: person.userId, starts_at: startsAt, sent_at: now })
        .onConflict((oc) => oc.columns(['meeting_id', 'user_id', 'starts_at']).doNothing())
        .executeTakeFirst();
      if (Number(claim.numInsertedOrUpdatedRows ?? 0) === 0) continue;
      sent++;
      const minutes = Math.max(1, Math.round((startsAt - now) / MINUTE_MS));
      deps.notifications.publish(person.userId, {
        kind: 'meeting-reminder',
        meetingId: meeting.id,
        title: meeting.title,
        startsAt: new Date(startsAt),
        minutesBefore: deps.reminderMinutes,
      });
      const links = meetingLinks(deps.publicOrigin(), meeting.id);
      const zone = person.timeZone ?? meeting.time_zone ?? 'UTC';
      await deps.mailer
        .send({
          to: person.email,
          subject: subjectText(`Starts in ${minutes} minute${minutes === 1 ? '' : 's'}: ${meeting.title}`),
          text: [
            `Hi ${person.displayName},`,
            '',
            `"${meeting.title}" starts in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
            '',
            `When: ${describeWhen(startsAt, meeting.ends_at ?? startsAt, zone)}`,
            '',
            `Join in the browser: ${links.web}`,
            `Join in the MegiLance app: ${links.desktop}`,
            '',
            '— MegiLance',
          ].join('\n'),
        })
        .catch((err: unknown) =>
          deps.logger.warn({ err, meetingId: meeting.id, userId: person.userId }, 'meeting reminder mail not sent'),
        );
    }
  }
  return sent;
}

export interface ReminderLoop {
  /** Runs one pass now (also what the timer does). */
  tick(): Promise<number>;
  stop(): void;
}

/** Starts the loop: a pass at once, then every `intervalMs`; passes never overlap; the timer never keeps the process up. */
export function startReminderLoop(
  deps: ReminderDeps,
  options: { intervalMs?: number; now?: () => number } = {},
): ReminderLoop {
  const now = options.now ?? Date.now;
  let running: Promise<number> | null = null;
  let stopped = false;
  const tick = (): Promise<number> => {
    if (stopped) return Promise.resolve(0);
    running ??= sendDueReminders(deps, now())
      .catch((err: unknown) => {
        if (!stopped) deps.logger.warn({ err }, 'meeting reminder pass failed');
        return 0;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? REMINDER_TICK_MS).unref();
  if (deps.reminderMinutes > 0) void tick();
  return {
    tick,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
