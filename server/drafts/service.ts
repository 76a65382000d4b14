/**
 * The drafts rules: a user's own drafts only (every query is scoped to the
 * caller), optimistic concurrency on `baseVersion`, and idempotent writes
 * (server/idempotency.ts) so the desktop outbox can replay safely.
 *
 * Versions: a new draft is version 1 and every save or removal adds one. A
 * write whose `baseVersion` is not the current version (0 when the user has
 * no draft with that id) is refused with CONFLICT and `details` of
 * `DraftConflictDetails`, so the client can show both sides and resolve.
 */
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type {
  Draft,
  DraftConflictDetails,
  DraftRemoval,
  DraftsPage,
  listDraftsInput,
  removeDraftInput,
  saveDraftInput,
} from '../../shared/drafts.ts';
import { AppError } from '../../shared/errors.ts';
import type { Database } from '../db/schema.ts';
import { idempotencyScope, runIdempotent } from '../idempotency.ts';
import { findDraftRow, insertDraft, listDraftRows, toDraft, updateDraft, type DraftsTable } from './repo.ts';

export interface DraftsDeps {
  db: Kysely<Database>;
  now?: () => number;
}

const nowOf = (deps: DraftsDeps) => (deps.now ?? Date.now)();

const notFound = () => new AppError('NOT_FOUND', { message: 'That draft does not exist or was removed.' });

function conflict(row: DraftsTable | undefined): AppError {
  const details: DraftConflictDetails = {
    currentVersion: row?.version ?? 0,
    removed: row === undefined || row.removed_at !== null,
  };
  return new AppError('CONFLICT', {
    message: details.removed
      ? 'This draft was removed on another device.'
      : 'This draft was changed on another device. Choose which version to keep.',
    details,
  });
}

export async function getDraft(deps: DraftsDeps, userId: string, id: string): Promise<Draft> {
  const row = await findDraftRow(deps.db, userId, id);
  if (row === undefined || row.removed_at !== null) throw notFound();
  return toDraft(row);
}

export async function listDrafts(
  deps: DraftsDeps,
  userId: string,
  input: z.output<typeof listDraftsInput>,
): Promise<DraftsPage> {
  const rows = await listDraftRows(deps.db, userId, { kind: input.kind, limit: input.limit, cursor: input.cursor });
  const items = rows.slice(0, input.limit).map(toDraft);
  const last = rows.length > input.limit ? rows[input.limit - 1] : undefined;
  return { items, nextCursor: last === undefined ? null : { updatedAt: last.updated_at, id: last.id } };
}

/** Creates (baseVersion 0, or the version of a removed draft) or replaces a draft's content. */
export function saveDraft(deps: DraftsDeps, userId: string, input: z.output<typeof saveDraftInput>): Promise<Draft> {
  const { idempotencyKey, ...request } = input;
  return runIdempotent(
    deps.db,
    { scope: idempotencyScope(userId, 'drafts.save'), key: idempotencyKey, request },
    async (trx) => {
      const existing = await findDraftRow(trx, userId, request.id);
      if ((existing?.version ?? 0) !== request.baseVersion) throw conflict(existing);
      const now = nowOf(deps);
      const content = {
        kind: request.kind,
        subject_ref: request.subjectRef,
        title: request.title,
        body: request.body,
        version: request.baseVersion + 1,
        updated_at: now,
        removed_at: null,
      };
      if (existing === undefined) {
        const row: DraftsTable = { user_id: userId, id: request.id, created_at: now, ...content };
        // Lost a race with a concurrent create of the same id: that one won, this one conflicts.
        if (!(await insertDraft(trx, row))) throw conflict(await findDraftRow(trx, userId, request.id));
        return toDraft(row);
      }
      // A removed draft saved again starts a new life: created now.
      const change = existing.removed_at === null ? content : { ...content, created_at: now };
      if (!(await updateDraft(trx, userId, request.id, existing.version, change))) {
        throw conflict(await findDraftRow(trx, userId, request.id));
      }
      return toDraft({ ...existing, ...change });
    },
    deps.now,
  );
}

/**
 * Removes a draft (its text is deleted; the version is kept). Removing one
 * that is already gone succeeds with `removed: false`, whatever baseVersion.
 */
export function removeDraft(
  deps: DraftsDeps,
  userId: string,
  input: z.output<typeof removeDraftInput>,
): Promise<DraftRemoval> {
  const { idempotencyKey, ...request } = input;
  return runIdempotent(
    deps.db,
    { scope: idempotencyScope(userId, 'drafts.remove'), key: idempotencyKey, request },
    async (trx) => {
      const existing = await findDraftRow(trx, userId, request.id);
      if (existing === undefined || existing.removed_at !== null) {
        return { id: request.id, removed: false, version: existing?.version ?? 0 };
      }
      if (request.baseVersion !== undefined && request.baseVersion !== existing.version) throw conflict(existing);
      const now = nowOf(deps);
      const version = existing.version + 1;
      const removed = await updateDraft(trx, userId, request.id, existing.version, {
        kind: existing.kind,
        subject_ref: null,
        title: '',
        body: '',
        version,
        updated_at: now,
        removed_at: now,
      });
      if (!removed) throw conflict(await findDraftRow(trx, userId, request.id));
      return { id: request.id, removed: true, version };
    },
    deps.now,
  );
}
