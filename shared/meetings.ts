/**
 * Meetings (what a call belongs to): the inputs of the `meetings.*`
 * procedures and what they answer, shared by the screens and the server.
 */
import { z } from 'zod';
import { emailSchema } from './accounts.ts';

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
}
