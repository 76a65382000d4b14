/**
 * `calls.recording.*` and `calls.history`: thin adapters to recording.ts and
 * history.ts. Start and stop are the host's; list and url are for the
 * meeting's participants (anyone else gets NOT_FOUND, as for the meeting).
 * The file itself is served by `GET /recordings/:id` (recording-http.ts).
 */
import { callHistoryInput, recordingMeetingInput, recordingUrlInput } from '../../shared/calls.ts';
import { authedProcedure, router } from '../trpc.ts';

export const recordingRouter = router({
  /** The host starts recording the running call; everyone in it gets a `recording` event. */
  start: authedProcedure
    .input(recordingMeetingInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.recordings.start(ctx.session.userId, input.meetingId)),

  /** The host stops it; the file is finished and listed as `ready`. */
  stop: authedProcedure
    .input(recordingMeetingInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.recordings.stop(ctx.session.userId, input.meetingId)),

  /** The meeting's recordings, newest first: status, duration, size, when they expire. */
  list: authedProcedure
    .input(recordingMeetingInput)
    .query(({ ctx, input }) => ctx.deps.calls.recordings.list(ctx.session.userId, input.meetingId)),

  /** A signed, 5-minute URL of a ready recording for <video src> or a download link. */
  url: authedProcedure
    .input(recordingUrlInput)
    .mutation(({ ctx, input }) =>
      ctx.deps.calls.recordings.url(ctx.session.userId, input.recordingId, input.download, ctx.deps.publicOrigin()),
    ),
});

/** The caller's calls (or one meeting's), newest first: duration, who was there, recordings. */
export const callHistoryProcedure = authedProcedure
  .input(callHistoryInput)
  .query(({ ctx, input }) =>
    ctx.deps.calls.history.list(ctx.session.userId, input?.meetingId, ctx.deps.config.calls.recording.retentionDays),
  );
