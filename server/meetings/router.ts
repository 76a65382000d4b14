/**
 * `meetings.*`: thin adapters to meetings.ts. Every procedure acts for the
 * signed-in user and sees only meetings they belong to.
 */
import { z } from 'zod';
import { createMeetingInput, inviteToMeetingInput, meetingIdSchema } from '../../shared/meetings.ts';
import { authedProcedure, router } from '../trpc.ts';
import * as meetings from './meetings.ts';

export const meetingsRouter = router({
  create: authedProcedure
    .input(createMeetingInput)
    .mutation(({ ctx, input }) => meetings.createMeeting(ctx.deps, ctx.session.userId, input)),

  list: authedProcedure.query(async ({ ctx }) => {
    const mine = await meetings.listMeetings(ctx.deps, ctx.session.userId);
    // Who is in each call right now, so the list can say "in a call" and offer to join.
    return mine.map((meeting) => ({ ...meeting, inCall: ctx.deps.calls.inCall(meeting.id) }));
  }),

  get: authedProcedure.input(z.object({ meetingId: meetingIdSchema })).query(async ({ ctx, input }) => ({
    ...(await meetings.getMeeting(ctx.deps, ctx.session.userId, input.meetingId)),
    inCall: ctx.deps.calls.inCall(input.meetingId),
  })),

  invite: authedProcedure
    .input(inviteToMeetingInput)
    .mutation(({ ctx, input }) => meetings.inviteToMeeting(ctx.deps, ctx.session.userId, input)),

  /** The host ends the meeting: its call closes for everyone and cannot be joined again. */
  end: authedProcedure.input(z.object({ meetingId: meetingIdSchema })).mutation(async ({ ctx, input }) => {
    const ended = await meetings.endMeeting(ctx.deps, ctx.session.userId, input.meetingId);
    ctx.deps.calls.endCall(input.meetingId);
    return ended;
  }),
});
