/**
 * `schedule.*`: the caller's own availability (time zone and working hours)
 * and suggested times for a meeting with other people. No procedure here
 * reads or writes anyone else's availability.
 */
import { availabilityInput, suggestSlotsInput } from '../../shared/schedule.ts';
import { authedProcedure, router } from '../trpc.ts';
import { getAvailability, setAvailability } from './availability.ts';
import { suggestSlots } from './slots.ts';

export const scheduleRouter = router({
  availability: router({
    /** The caller's own; `isDefault` until they save (Mon–Fri 09:00–17:00, no zone yet). */
    get: authedProcedure.query(({ ctx }) => getAvailability(ctx.deps, ctx.session.userId)),
    set: authedProcedure
      .input(availabilityInput)
      .mutation(({ ctx, input }) => setAvailability(ctx.deps, ctx.session.userId, input)),
  }),

  /** The first times (quarter-hour starts) that suit the caller and every invitee. */
  suggest: authedProcedure
    .input(suggestSlotsInput)
    .query(({ ctx, input }) => suggestSlots(ctx.deps, ctx.session.userId, input)),
});
