/**
 * Scheduled meetings: planning one at a set time, moving it, cancelling it,
 * and the invitation mails that go with each (a calendar file attached, see
 * ics.ts). Only the host changes a meeting; everyone else in it sees it,
 * and anyone outside it gets NOT_FOUND (through `requireParticipant`).
 *
 * Every mail is personal: its calendar file names the recipient as the one
 * attendee and MegiLance's own sender address as the organizer (with the
 * host's name), so no one learns another person's email address from an
 * invitation. Mail is sent after the change is stored; a recipient whose
 * mail fails is named in the answer and in the log, and the change stands.
 */
import type { Logger } from 'pino';
import { AppError } from '../../shared/errors.ts';
import type { MeetingRole, MeetingView, ScheduledMeetingView } from '../../shared/meetings.ts';
import { DAY_MS, MINUTE_MS } from '../../shared/schedule.ts';
import type { OutgoingMail } from '../delivery/mail.ts';
import { newId } from '../security/secrets.ts';
import { buildIcs, withoutControls, type IcsMethod } from './ics.ts';
import {
  getMeeting,
  inviteToMeeting,
  requireParticipant,
  usersByEmail,
  view,
  type MeetingsDeps,
  type MeetingsTable,
} from './meetings.ts';

export interface SchedulingDeps extends MeetingsDeps {
  mailer: { send(mail: OutgoingMail): Promise<unknown> };
  logger: Logger;
  /** Where users reach the server: the meeting's web link. */
  publicOrigin: () => string;
  /** MAIL_FROM: its address is the invitations' ORGANIZER. */
  mailFrom: string;
  /** MEETING_REMINDER_MINUTES: said in the mail and set as the calendar alarm; 0 = no reminders. */
  reminderMinutes: number;
}

/** How far ahead a meeting may be planned. */
const MAX_AHEAD_MS = 2 * 366 * DAY_MS;
/** A start this far in the past still counts as "now" (the form has minute precision). */
const PAST_GRACE_MS = 60_000;

/** The links that open a meeting: in a browser, and in the desktop app. */
export function meetingLinks(origin: string, meetingId: string): { web: string; desktop: string } {
  return { web: `${origin.replace(/\/+$/, '')}/calls/${meetingId}`, desktop: `megilance://call/${meetingId}` };
}

function checkStart(startsAt: number, now: number): void {
  const problem =
    !Number.isFinite(startsAt) || startsAt < now - PAST_GRACE_MS
      ? 'Pick a time in the future.'
      : startsAt > now + MAX_AHEAD_MS
        ? 'Plan at most two years ahead.'
        : null;
  if (problem !== null)
    throw new AppError('VALIDATION_FAILED', { message: problem, fieldErrors: { startsAt: [problem] } });
}

/** `meetings.schedule`: a scheduled meeting with the caller as host; everyone gets an invitation. */
export async function scheduleMeeting(
  deps: SchedulingDeps,
  hostId: string,
  input: {
    title: string;
    startsAt: number;
    durationMinutes: number;
    timeZone: string;
    invitees: string[];
    description?: string | undefined;
  },
): Promise<ScheduledMeetingView> {
  const now = (deps.now ?? Date.now)();
  checkStart(input.startsAt, now);
  const invitees = (await usersByEmail(deps, input.invitees)).filter((user) => user.id !== hostId);
  const meeting: MeetingsTable = {
    id: newId(),
    title: input.title,
    host_id: hostId,
    kind: 'scheduled',
    owner_kind: null,
    owner_id: null,
    starts_at: input.startsAt,
    ends_at: input.startsAt + input.durationMinutes * MINUTE_MS,
    time_zone: input.timeZone,
    created_at: now,
    ended_at: null,
    description: input.description === undefined || input.description === '' ? null : input.description,
    sequence: 0,
    cancel_reason: null,
  };
  await deps.db.transaction().execute(async (tx) => {
    await tx.insertInto('meetings').values(meeting).execute();
    await tx
      .insertInto('meeting_participants')
      .values([
        { meeting_id: meeting.id, user_id: hostId, role: 'host', invited_at: now },
        ...invitees.map((user) => ({
          meeting_id: meeting.id,
          user_id: user.id,
          role: 'participant' as const,
          invited_at: now,
        })),
      ])
      .execute();
  });
  const invitations = await mailInvitations(deps, meeting, 'REQUEST', 'new');
  return { ...(await view(deps, meeting, 'host')), invitations };
}

async function requireHostOfScheduled(
  deps: MeetingsDeps,
  userId: string,
  meetingId: string,
  verb: string,
): Promise<MeetingsTable> {
  const { role, meeting } = await requireParticipant(deps, meetingId, userId);
  if (role !== 'host') throw new AppError('FORBIDDEN', { message: `Only the host can ${verb} the meeting.` });
  if (meeting.kind !== 'scheduled') {
    throw new AppError('PRECONDITION_FAILED', {
      message: `Only a scheduled meeting can be ${verb === 'cancel' ? 'cancelled' : 'moved'}; end this call instead.`,
    });
  }
  return meeting;
}

/** `meetings.reschedule`: the host moves the meeting; everyone gets the updated invitation (SEQUENCE + 1). */
export async function rescheduleMeeting(
  deps: SchedulingDeps,
  userId: string,
  input: { meetingId: string; startsAt: number; durationMinutes: number; timeZone?: string | undefined },
): Promise<ScheduledMeetingView> {
  const meeting = await requireHostOfScheduled(deps, userId, input.meetingId, 'reschedule');
  if (meeting.ended_at !== null) throw new AppError('PRECONDITION_FAILED', { message: 'This meeting has ended.' });
  const now = (deps.now ?? Date.now)();
  checkStart(input.startsAt, now);
  const moved: MeetingsTable = {
    ...meeting,
    starts_at: input.startsAt,
    ends_at: input.startsAt + input.durationMinutes * MINUTE_MS,
    time_zone: input.timeZone ?? meeting.time_zone,
    sequence: meeting.sequence + 1,
  };
  const result = await deps.db
    .updateTable('meetings')
    .set({ starts_at: moved.starts_at, ends_at: moved.ends_at, time_zone: moved.time_zone, sequence: moved.sequence })
    .where('id', '=', meeting.id)
    .where('sequence', '=', meeting.sequence)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) {
    throw new AppError('CONFLICT', { message: 'The meeting was changed meanwhile. Reload it and try again.' });
  }
  const invitations = await mailInvitations(deps, moved, 'REQUEST', 'updated');
  return { ...(await view(deps, moved, 'host')), invitations };
}

/**
 * `meetings.cancel`: the host calls it off. It ends (its call can no longer
 * be joined) with the reason, and everyone gets a cancellation their
 * calendar applies. Cancelling an ended meeting changes nothing and mails no one.
 */
export async function cancelMeeting(
  deps: SchedulingDeps,
  userId: string,
  input: { meetingId: string; reason?: string | undefined },
): Promise<ScheduledMeetingView> {
  const meeting = await requireHostOfScheduled(deps, userId, input.meetingId, 'cancel');
  const nothingSent = { sent: 0, failed: [] };
  if (meeting.ended_at !== null) return { ...(await view(deps, meeting, 'host')), invitations: nothingSent };
  const now = (deps.now ?? Date.now)();
  const cancelled: MeetingsTable = {
    ...meeting,
    ended_at: now,
    cancel_reason: input.reason === undefined || input.reason === '' ? null : input.reason,
    sequence: meeting.sequence + 1,
  };
  const result = await deps.db
    .updateTable('meetings')
    .set({ ended_at: now, cancel_reason: cancelled.cancel_reason, sequence: cancelled.sequence })
    .where('id', '=', meeting.id)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) {
    // Ended meanwhile (by the host elsewhere): as above, nothing more to do.
    return { ...(await getMeeting(deps, userId, meeting.id)), invitations: nothingSent };
  }
  const invitations = await mailInvitations(deps, cancelled, 'CANCEL', 'cancelled');
  return { ...(await view(deps, cancelled, 'host')), invitations };
}

/** `meetings.invite` for any meeting; people added to a scheduled one get its invitation. */
export async function inviteAndMail(
  deps: SchedulingDeps,
  userId: string,
  input: { meetingId: string; invitees: string[] },
): Promise<MeetingView> {
  const before = await getMeeting(deps, userId, input.meetingId);
  const after = await inviteToMeeting(deps, userId, input);
  if (after.kind === 'scheduled' && after.endedAt === null) {
    const added = after.participants
      .filter((person) => !before.participants.some((known) => known.userId === person.userId))
      .map((person) => person.userId);
    if (added.length > 0) {
      const { meeting } = await requireParticipant(deps, input.meetingId, userId);
      await mailInvitations(deps, meeting, 'REQUEST', 'new', added);
    }
  }
  return after;
}

/* ------------------------------------------------------------------------ */
/* Invitation mail                                                            */
/* ------------------------------------------------------------------------ */

interface Recipient {
  userId: string;
  email: string;
  displayName: string;
  role: MeetingRole;
  /** Their own zone when they saved one: times in their mail are on their clock. */
  timeZone: string | null;
}

export async function meetingRecipients(deps: MeetingsDeps, meetingId: string): Promise<Recipient[]> {
  const rows = await deps.db
    .selectFrom('meeting_participants')
    .innerJoin('users', 'users.id', 'meeting_participants.user_id')
    .leftJoin('user_availability', 'user_availability.user_id', 'meeting_participants.user_id')
    .select([
      'meeting_participants.user_id',
      'meeting_participants.role',
      'users.email',
      'users.display_name',
      'user_availability.time_zone',
    ])
    .where('meeting_participants.meeting_id', '=', meetingId)
    .where('users.status', '=', 'active')
    .orderBy('meeting_participants.invited_at', 'asc')
    .execute();
  return rows.map((row) => ({
    userId: row.user_id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    timeZone: row.time_zone,
  }));
}

/** The address in a sender like `MegiLance <no-reply@example.com>`. */
export function senderAddress(from: string): string {
  const bracketed = /<([^<>\s]+@[^<>\s]+)>/.exec(from)?.[1];
  if (bracketed !== undefined) return bracketed;
  const bare = from.trim();
  return /^[^\s@<>]+@[^\s@<>]+$/.test(bare) ? bare : 'no-reply@localhost';
}

/** One line for a subject: no line breaks (a header), at most 150 characters. */
export function subjectText(text: string): string {
  const flat = withoutControls(text.replace(/[\r\n\t]+/g, ' ')).trim();
  return flat.length > 150 ? `${flat.slice(0, 149)}…` : flat;
}

/** `Monday, 30 March 2026, 09:00–09:30 (Europe/London)`: a meeting's time on one clock. */
export function describeWhen(start: number, end: number, timeZone: string): string {
  const day = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  });
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const sameDay = day.format(start) === day.format(end);
  const span = sameDay
    ? `${day.format(start)}, ${time.format(start)}–${time.format(end)}`
    : `${day.format(start)}, ${time.format(start)} – ${day.format(end)}, ${time.format(end)}`;
  return `${span} (${timeZone})`;
}

type MailKind = 'new' | 'updated' | 'cancelled';

/** Mails each participant (or only `onlyUserIds`) their own invitation; answers who could not be mailed. */
export async function mailInvitations(
  deps: SchedulingDeps,
  meeting: MeetingsTable,
  method: IcsMethod,
  kind: MailKind,
  onlyUserIds?: readonly string[],
): Promise<{ sent: number; failed: string[] }> {
  const everyone = await meetingRecipients(deps, meeting.id);
  const host = everyone.find((person) => person.role === 'host');
  const recipients = onlyUserIds === undefined ? everyone : everyone.filter((p) => onlyUserIds.includes(p.userId));
  const links = meetingLinks(deps.publicOrigin(), meeting.id);
  const stamp = (deps.now ?? Date.now)();
  const results = await Promise.allSettled(
    recipients.map((recipient) =>
      deps.mailer.send(invitationMail(deps, meeting, { method, kind, recipient, everyone, host, links, stamp })),
    ),
  );
  const failed: string[] = [];
  results.forEach((result, i) => {
    if (result.status === 'rejected') {
      failed.push(recipients[i]!.email);
      deps.logger.warn(
        { err: result.reason as unknown, meetingId: meeting.id, userId: recipients[i]!.userId, kind },
        'meeting invitation mail not sent',
      );
    }
  });
  return { sent: recipients.length - failed.length, failed };
}

function invitationMail(
  deps: SchedulingDeps,
  meeting: MeetingsTable,
  context: {
    method: IcsMethod;
    kind: MailKind;
    recipient: Recipient;
    everyone: Recipient[];
    host: Recipient | undefined;
    links: { web: string; desktop: string };
    stamp: number;
  },
): OutgoingMail {
  const { method, kind, recipient, everyone, host, links, stamp } = context;
  const start = meeting.starts_at ?? stamp;
  const end = meeting.ends_at ?? start;
  const plannedZone = meeting.time_zone ?? 'UTC';
  const ownZone = recipient.timeZone ?? plannedZone;
  const hostName = host?.displayName ?? 'The host';
  const whenLines = [`When: ${describeWhen(start, end, ownZone)}`];
  if (ownZone !== plannedZone) whenLines.push(`      ${describeWhen(start, end, plannedZone)}, as planned`);
  const who = [...everyone]
    .sort((a, b) => Number(b.role === 'host') - Number(a.role === 'host') || a.displayName.localeCompare(b.displayName))
    .map((p) => (p.role === 'host' ? `${p.displayName} (host)` : p.displayName))
    .join(', ');
  const joinLines = [`Join in the browser: ${links.web}`, `Join in the MegiLance app: ${links.desktop}`];
  const intro = {
    new:
      recipient.role === 'host'
        ? `You scheduled "${meeting.title}".`
        : `${hostName} invited you to "${meeting.title}".`,
    updated: `${hostName} moved "${meeting.title}" to a new time.`,
    cancelled: `${hostName} cancelled "${meeting.title}".`,
  }[kind];
  const body = [
    `Hi ${recipient.displayName},`,
    '',
    intro,
    ...(kind === 'cancelled' && meeting.cancel_reason !== null ? ['', `Reason: ${meeting.cancel_reason}`] : []),
    '',
    ...(kind === 'cancelled' ? whenLines.map((line) => line.replace(/^When:/, 'Was:')) : whenLines),
    `Who: ${who}`,
    ...(meeting.description !== null && kind !== 'cancelled' ? ['', meeting.description] : []),
    ...(kind === 'cancelled' ? [] : ['', ...joinLines]),
    '',
    kind === 'cancelled'
      ? 'The attached calendar file removes it from your calendar.'
      : `The attached calendar file adds it to your calendar.${
          deps.reminderMinutes > 0 ? ` We will remind you ${deps.reminderMinutes} minutes before it starts.` : ''
        }`,
    '',
    '— MegiLance',
  ];
  const subject = subjectText(
    { new: 'Invitation', updated: 'Updated invitation', cancelled: 'Cancelled' }[kind] + `: ${meeting.title}`,
  );
  const ics = buildIcs({
    method,
    uid: `${meeting.id}@megilance`,
    sequence: meeting.sequence,
    stamp,
    start,
    end,
    summary: meeting.title,
    description: [...(meeting.description === null ? [] : [meeting.description, '']), ...joinLines].join('\n'),
    location: links.web,
    organizer: { name: `${hostName} (MegiLance)`, email: senderAddress(deps.mailFrom) },
    attendees: [
      {
        name: recipient.displayName,
        email: recipient.email,
        role: recipient.role === 'host' ? 'CHAIR' : 'REQ-PARTICIPANT',
      },
    ],
    alarmMinutesBefore: deps.reminderMinutes > 0 ? deps.reminderMinutes : null,
  });
  return {
    to: recipient.email,
    subject,
    text: body.join('\n'),
    icalEvent: { method, content: ics, filename: method === 'CANCEL' ? 'cancel.ics' : 'invite.ics' },
  };
}
