/**
 * `drafts.*`: thin adapters to the rules in service.ts. Every procedure acts
 * on the signed-in user's own drafts (ctx.session.userId), never anyone else's.
 */
import { getDraftInput, listDraftsInput, removeDraftInput, saveDraftInput } from '../../shared/drafts.ts';
import type { RequestContext } from '../context.ts';
import { authedProcedure, router } from '../trpc.ts';
import * as drafts from './service.ts';

const draftsDeps = (ctx: RequestContext): drafts.DraftsDeps => ({ db: ctx.deps.db });

export const draftsRouter = router({
  /** The caller's drafts, newest change first, a page at a time. */
  list: authedProcedure
    .input(listDraftsInput)
    .query(({ ctx, input }) => drafts.listDrafts(draftsDeps(ctx), ctx.session.userId, input)),

  /** NOT_FOUND for a removed draft and for an id the caller never used. */
  get: authedProcedure
    .input(getDraftInput)
    .query(({ ctx, input }) => drafts.getDraft(draftsDeps(ctx), ctx.session.userId, input.id)),

  /** Create or update; CONFLICT (details: currentVersion, removed) when baseVersion is not current. */
  save: authedProcedure
    .input(saveDraftInput)
    .mutation(({ ctx, input }) => drafts.saveDraft(draftsDeps(ctx), ctx.session.userId, input)),

  /** Idempotent: removing a draft that is already gone answers `removed: false`. */
  remove: authedProcedure
    .input(removeDraftInput)
    .mutation(({ ctx, input }) => drafts.removeDraft(draftsDeps(ctx), ctx.session.userId, input)),
});
