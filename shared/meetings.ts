/**
 * Meetings (what a call belongs to): the inputs of the `meetings.*`
 * procedures and what they answer, shared by the screens and the server.
 */
import { z } from 'zod';
import { emailSchema } from './accounts.ts';
import { durationMinutesSchema, instantInput, timeZoneSchema } from './schedule.ts';

/** A call holds at most this many people (issue 5: group calls up to 50). */
export const MAX_MEETING_PARTICIPANTS = 50;

export const meetingIdSchema = z.string().uuid('Unknown meeting.');

export const meetingTitleSchema = z
  .string()
  .trim()
  .min(1, 'Give the meeting a title.')
  .max(120, 'Use at most 120 characters.');

export const createMeetingInput = z.object({
  title: meetingTitleSchema,
  /** People to invite, by the email of their MegiLance account. */
  invitees: z
    .array(emailSchema)
    .max(MAX_MEETING_PARTICIPANTS - 1, `A meeting holds at most ${MAX_MEETING_PARTICIPANTS} people.`)
    .default([]),
});
export type CreateMeetingInput = z.input<typeof createMeetingInput>;

export const inviteToMeetingInput = z.object({
  meetingId: meetingIdSchema,
  invitees: z
    .array(emailSchema)
    .min(1, 'Add at least one email address.')
    .max(MAX_MEETING_PARTICIPANTS - 1),
});

export const meetingDescriptionSchema = z.string().trim().max(2_000, 'Use at most 2000 characters.');

/** A meeting at a set time: invitations (with a calendar file) go to everyone, a reminder comes before it starts. */
export const scheduleMeetingInput = z.object({
  title: meetingTitleSchema,
  /** When it starts: epoch ms, a Date, or ISO 8601 with an offset. */
  startsAt: instantInput,
  durationMinutes: durationMinutesSchema,
  /** The zone it was planned in (shown with its time; each person also sees it in their own zone). */
  timeZone: timeZoneSchema,
  invitees: z
    .array(emailSchema)
    .max(MAX_MEETING_PARTICIPANTS - 1, `A meeting holds at most ${MAX_MEETING_PARTICIPANTS} people.`)
    .default([]),
  description: meetingDescriptionSchema.optional(),
});
export type ScheduleMeetingInput = z.input<typeof scheduleMeetingInput>;

export const rescheduleMeetingInput = z.object({
  meetingId: meetingIdSchema,
  startsAt: instantInput,
  durationMinutes: durationMinutesSchema,
  /** Unchanged when left out. */
  timeZone: timeZoneSchema.optional(),
});

export const cancelMeetingInput = z.object({
  meetingId: meetingIdSchema,
  /** Told to everyone invited. */
  reason: z.string().trim().max(500, 'Use at most 500 characters.').optional(),
});

export type MeetingRole = 'host' | 'participant';

export interface MeetingParticipantView {
  userId: string;
  displayName: string;
  role: MeetingRole;
}

export interface MeetingView {
  id: string;
  title: string;
  kind: 'adhoc' | 'scheduled';
  hostId: string;
  /** The caller's own role in it. */
  myRole: MeetingRole;
  participants: MeetingParticipantView[];
  createdAt: Date;
  endedAt: Date | null;
  /** Scheduled meetings: when it starts and ends, and the zone it was planned in. Ad hoc: when it was started. */
  startsAt: Date | null;
  endsAt: Date | null;
  timeZone: string | null;
  description: string | null;
  /** Set when the host cancelled a scheduled meeting (it is then ended). */
  cancelReason: string | null;
}

/** What scheduling or rescheduling answers: the meeting, and whose invitation mail could not be sent. */
export interface ScheduledMeetingView extends MeetingView {
  invitations: { sent: number; failed: string[] };
}
