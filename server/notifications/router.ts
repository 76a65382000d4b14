/** `notifications.*`: the signed-in user's live notifications (meeting reminders for now). */
import { authedProcedure, router } from '../trpc.ts';
import { notificationStream } from './hub.ts';

export const notificationsRouter = router({
  /** Yields each notification for the caller as it happens (`{kind: 'meeting-reminder', …}`). */
  stream: authedProcedure.subscription(({ ctx, signal }) =>
    notificationStream(ctx.deps, ctx.session.userId, signal ?? new AbortController().signal),
  ),
});
