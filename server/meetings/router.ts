/**
 * `meetings.*`: thin adapters to meetings.ts and scheduling.ts. Every
 * procedure acts for the signed-in user and sees only meetings they belong to.
 */
import { z } from 'zod';
import {
  cancelMeetingInput,
  createMeetingInput,
  inviteToMeetingInput,
  meetingIdSchema,
  rescheduleMeetingInput,
  scheduleMeetingInput,
} from '../../shared/meetings.ts';
import type { ServerDeps } from '../context.ts';
import { authedProcedure, router } from '../trpc.ts';
import * as meetings from './meetings.ts';
import * as scheduling from './scheduling.ts';

/** What scheduling needs of the server. */
export function schedulingDeps(deps: ServerDeps): scheduling.SchedulingDeps {
  return {
    db: deps.db,
    mailer: deps.mailer,
    logger: deps.logger,
    publicOrigin: () => deps.publicOrigin(),
    mailFrom: deps.config.mail.from,
    reminderMinutes: deps.config.meetings.reminderMinutes,
  };
}

export const meetingsRouter = router({
  create: authedProcedure
    .input(createMeetingInput)
    .mutation(({ ctx, input }) => meetings.createMeeting(ctx.deps, ctx.session.userId, input)),

  /** A meeting at a set time; everyone invited gets a mail with a calendar file. */
  schedule: authedProcedure
    .input(scheduleMeetingInput)
    .mutation(({ ctx, input }) => scheduling.scheduleMeeting(schedulingDeps(ctx.deps), ctx.session.userId, input)),

  /** The host moves a scheduled meeting; everyone gets the updated invitation. */
  reschedule: authedProcedure
    .input(rescheduleMeetingInput)
    .mutation(({ ctx, input }) => scheduling.rescheduleMeeting(schedulingDeps(ctx.deps), ctx.session.userId, input)),

  /** The host cancels a scheduled meeting: it ends, its call closes, everyone gets the cancellation. */
  cancel: authedProcedure.input(cancelMeetingInput).mutation(async ({ ctx, input }) => {
    const cancelled = await scheduling.cancelMeeting(schedulingDeps(ctx.deps), ctx.session.userId, input);
    ctx.deps.calls.endCall(input.meetingId);
    return cancelled;
  }),

  list: authedProcedure.query(async ({ ctx }) => {
    const mine = await meetings.listMeetings(ctx.deps, ctx.session.userId);
    // Who is in each call right now, so the list can say "in a call" and offer to join.
    return mine.map((meeting) => ({ ...meeting, inCall: ctx.deps.calls.inCall(meeting.id) }));
  }),

  get: authedProcedure.input(z.object({ meetingId: meetingIdSchema })).query(async ({ ctx, input }) => ({
    ...(await meetings.getMeeting(ctx.deps, ctx.session.userId, input.meetingId)),
    inCall: ctx.deps.calls.inCall(input.meetingId),
  })),

  /** The host adds people; people added to a scheduled meeting get its invitation. */
  invite: authedProcedure
    .input(inviteToMeetingInput)
    .mutation(({ ctx, input }) => scheduling.inviteAndMail(schedulingDeps(ctx.deps), ctx.session.userId, input)),

  /** The host ends the meeting: its call closes for everyone and cannot be joined again. */
  end: authedProcedure.input(z.object({ meetingId: meetingIdSchema })).mutation(async ({ ctx, input }) => {
    const ended = await meetings.endMeeting(ctx.deps, ctx.session.userId, input.meetingId);
    ctx.deps.calls.endCall(input.meetingId);
    return ended;
  }),
});
