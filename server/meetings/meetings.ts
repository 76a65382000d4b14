/**
 * Meetings: who may be in a call. A meeting has one host and invited
 * participants (MegiLance accounts; guests by link are server/calls/guests.ts). Every
 * read and every call procedure goes through `requireParticipant`, so a user
 * never learns anything about a meeting they are not in: an unknown meeting
 * and someone else's answer the same NOT_FOUND.
 */
import type { Kysely } from 'kysely';
import { AppError } from '../../shared/errors.ts';
import {
  MAX_MEETING_PARTICIPANTS,
  type MeetingParticipantView,
  type MeetingRole,
  type MeetingView,
} from '../../shared/meetings.ts';
import type { Database } from '../db/schema.ts';
import { newId } from '../security/secrets.ts';

export type MeetingsTable = {
  id: string;
  title: string;
  host_id: string;
  kind: 'adhoc' | 'scheduled';
  owner_kind: string | null;
  owner_id: string | null;
  starts_at: number | null;
  ends_at: number | null;
  time_zone: string | null;
  created_at: number;
  ended_at: number | null;
  /** Added by 0013_schedule: shown in invitations. */
  description: string | null;
  /** iCalendar SEQUENCE of the invitations: bumped by each reschedule and by the cancellation. */
  sequence: number;
  /** Why the host cancelled (a cancelled meeting is ended). */
  cancel_reason: string | null;
};

export type MeetingParticipantsTable = {
  meeting_id: string;
  user_id: string;
  role: MeetingRole;
  invited_at: number;
};

/** Each user's time zone and working hours (0013_schedule). */
export type UserAvailabilityTable = {
  user_id: string;
  time_zone: string;
  /** `WeeklyHours` (shared/schedule.ts) as JSON. */
  weekly_json: string;
  updated_at: number;
};

/** Reminders sent: the key (meeting, user, start) makes each one go out once, whichever node claims it. */
export type MeetingRemindersTable = {
  meeting_id: string;
  user_id: string;
  starts_at: number;
  sent_at: number;
};

/** The tables migrations 0011_meetings and 0013_schedule create (merged into server/db/schema.ts's `Database`). */
export type MeetingTables = {
  meetings: MeetingsTable;
  meeting_participants: MeetingParticipantsTable;
  user_availability: UserAvailabilityTable;
  meeting_reminders: MeetingRemindersTable;
};

export interface MeetingsDeps {
  db: Kysely<Database>;
  now?: () => number;
}

const notFound = () =>
  new AppError('NOT_FOUND', { message: 'There is no such meeting, or you are not invited to it.' });

/** The caller's role in a meeting they belong to; NOT_FOUND otherwise (also for an unknown meeting). */
export async function requireParticipant(
  deps: MeetingsDeps,
  meetingId: string,
  userId: string,
): Promise<{ role: MeetingRole; meeting: MeetingsTable }> {
  const row = await deps.db
    .selectFrom('meeting_participants')
    .innerJoin('meetings', 'meetings.id', 'meeting_participants.meeting_id')
    .selectAll('meetings')
    .select('meeting_participants.role')
    .where('meeting_participants.meeting_id', '=', meetingId)
    .where('meeting_participants.user_id', '=', userId)
    .executeTakeFirst();
  if (row === undefined) throw notFound();
  const { role, ...meeting } = row;
  return { role, meeting };
}

/** Looks up invitees by email; names the ones without an account on the `invitees` field. */
export async function usersByEmail(
  deps: MeetingsDeps,
  emails: readonly string[],
): Promise<{ id: string; email: string }[]> {
  const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()))];
  if (wanted.length === 0) return [];
  const found = await deps.db
    .selectFrom('users')
    .select(['id', 'email_normalized as email'])
    .where('email_normalized', 'in', wanted)
    .where('status', '=', 'active')
    .execute();
  const missing = wanted.filter((email) => !found.some((user) => user.email === email));
  if (missing.length > 0) {
    const message = `No MegiLance account uses ${missing.join(', ')}. Invite people by the email they signed up with.`;
    throw new AppError('VALIDATION_FAILED', { message, fieldErrors: { invitees: [message] } });
  }
  return found;
}

export async function view(deps: MeetingsDeps, meeting: MeetingsTable, myRole: MeetingRole): Promise<MeetingView> {
  const people = await deps.db
    .selectFrom('meeting_participants')
    .innerJoin('users', 'users.id', 'meeting_participants.user_id')
    .select(['meeting_participants.user_id', 'meeting_participants.role', 'users.display_name'])
    .where('meeting_participants.meeting_id', '=', meeting.id)
    .orderBy('meeting_participants.invited_at', 'asc')
    .orderBy('users.display_name', 'asc')
    .execute();
  const participants: MeetingParticipantView[] = people.map((p) => ({
    userId: p.user_id,
    displayName: p.display_name,
    role: p.role,
  }));
  return {
    id: meeting.id,
    title: meeting.title,
    kind: meeting.kind,
    hostId: meeting.host_id,
    myRole,
    participants,
    createdAt: new Date(meeting.created_at),
    endedAt: meeting.ended_at === null ? null : new Date(meeting.ended_at),
    startsAt: meeting.starts_at === null ? null : new Date(meeting.starts_at),
    endsAt: meeting.ends_at === null ? null : new Date(meeting.ends_at),
    timeZone: meeting.time_zone,
    description: meeting.description,
    cancelReason: meeting.cancel_reason,
  };
}

/** An ad hoc meeting with the caller as host and the invitees as participants. */
export async function createMeeting(
  deps: MeetingsDeps,
  hostId: string,
  input: { title: string; invitees: string[] },
): Promise<MeetingView> {
  const now = (deps.now ?? Date.now)();
  const invitees = (await usersByEmail(deps, input.invitees)).filter((user) => user.id !== hostId);
  const meeting: MeetingsTable = {
    id: newId(),
    title: input.title,
    host_id: hostId,
    kind: 'adhoc',
    owner_kind: null,
    owner_id: null,
    starts_at: now,
    ends_at: null,
    time_zone: null,
    created_at: now,
    ended_at: null,
    description: null,
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
  return view(deps, meeting, 'host');
}

/** The host adds people; those already in stay as they are. */
export async function inviteToMeeting(
  deps: MeetingsDeps,
  userId: string,
  input: { meetingId: string; invitees: string[] },
): Promise<MeetingView> {
  const { role, meeting } = await requireParticipant(deps, input.meetingId, userId);
  if (role !== 'host') throw new AppError('FORBIDDEN', { message: 'Only the host can invite people.' });
  if (meeting.ended_at !== null) throw new AppError('PRECONDITION_FAILED', { message: 'This meeting has ended.' });
  const now = (deps.now ?? Date.now)();
  const invitees = await usersByEmail(deps, input.invitees);
  const current = await deps.db
    .selectFrom('meeting_participants')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('meeting_id', '=', meeting.id)
    .executeTakeFirstOrThrow();
  if (Number(current.count) + invitees.length > MAX_MEETING_PARTICIPANTS) {
    const message = `A meeting holds at most ${MAX_MEETING_PARTICIPANTS} people.`;
    throw new AppError('VALIDATION_FAILED', { message, fieldErrors: { invitees: [message] } });
  }
  if (invitees.length > 0) {
    await deps.db
      .insertInto('meeting_participants')
      .values(
        invitees.map((user) => ({
          meeting_id: meeting.id,
          user_id: user.id,
          role: 'participant' as const,
          invited_at: now,
        })),
      )
      .onConflict((oc) => oc.columns(['meeting_id', 'user_id']).doNothing())
      .execute();
  }
  return view(deps, meeting, role);
}

export async function getMeeting(deps: MeetingsDeps, userId: string, meetingId: string): Promise<MeetingView> {
  const { role, meeting } = await requireParticipant(deps, meetingId, userId);
  return view(deps, meeting, role);
}

/** The caller's meetings, newest first. */
export async function listMeetings(deps: MeetingsDeps, userId: string, limit = 50): Promise<MeetingView[]> {
  const rows = await deps.db
    .selectFrom('meeting_participants')
    .innerJoin('meetings', 'meetings.id', 'meeting_participants.meeting_id')
    .selectAll('meetings')
    .select('meeting_participants.role')
    .where('meeting_participants.user_id', '=', userId)
    .orderBy('meetings.created_at', 'desc')
    .orderBy('meetings.id', 'desc')
    .limit(limit)
    .execute();
  return Promise.all(rows.map(({ role, ...meeting }) => view(deps, meeting, role)));
}

/** The host ends the meeting for everyone; its call closes and cannot be joined again. */
export async function endMeeting(deps: MeetingsDeps, userId: string, meetingId: string): Promise<{ endedAt: Date }> {
  const { role, meeting } = await requireParticipant(deps, meetingId, userId);
  if (role !== 'host') throw new AppError('FORBIDDEN', { message: 'Only the host can end the meeting for everyone.' });
  if (meeting.ended_at !== null) return { endedAt: new Date(meeting.ended_at) };
  const now = (deps.now ?? Date.now)();
  await deps.db
    .updateTable('meetings')
    .set({ ended_at: now })
    .where('id', '=', meetingId)
    .where('ended_at', 'is', null)
    .execute();
  return { endedAt: new Date(now) };
}
