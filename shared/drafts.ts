/**
 * Drafts: a user's private, unsent writing (a message, a proposal, a note),
 * kept on the server so every device sees it and editable offline through
 * the desktop outbox. The inputs of the `drafts.*` procedures and what they
 * answer, shared by the server, the desktop outbox and the screens.
 *
 * Two rules make offline edits safe to replay:
 * - Ids are chosen by the client (a UUID), so a draft made offline has its
 *   id before the server has seen it, and later queued edits can name it.
 * - Every write carries `baseVersion`, the version the writer last saw (0:
 *   "I believe it does not exist"). A mismatch is a CONFLICT whose details
 *   carry `currentVersion`, never a silent overwrite. `idempotencyKey` makes a
 *   repeated write (a replay after a lost answer) return the first answer.
 */
import { z } from 'zod';

export const draftKinds = ['message', 'proposal', 'note'] as const;
export const draftKindSchema = z.enum(draftKinds);
export type DraftKind = z.infer<typeof draftKindSchema>;

export const DRAFT_TITLE_MAX_LENGTH = 200;
export const DRAFT_BODY_MAX_LENGTH = 100_000;
export const DRAFT_SUBJECT_REF_MAX_LENGTH = 200;
export const DRAFTS_PAGE_MAX = 100;

export const draftIdSchema = z.uuid({ error: 'Expected a UUID.' });

/**
 * A client-chosen key (the outbox uses a UUID) naming one intended write: the
 * server applies it once and answers every repeat with the first result.
 */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'Expected 16 to 64 letters, digits, "-" or "_" (a UUID).');

/** The version the writer last saw; 0 for a draft it believes does not exist yet. */
export const baseVersionSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const saveDraftInput = z.object({
  id: draftIdSchema,
  kind: draftKindSchema,
  /** What the draft is for, e.g. `thread:<id>` or `job:<id>`; opaque to the drafts domain. */
  subjectRef: z.string().trim().min(1).max(DRAFT_SUBJECT_REF_MAX_LENGTH).nullable().default(null),
  title: z.string().max(DRAFT_TITLE_MAX_LENGTH, `Use at most ${DRAFT_TITLE_MAX_LENGTH} characters.`),
  body: z.string().max(DRAFT_BODY_MAX_LENGTH, `Use at most ${DRAFT_BODY_MAX_LENGTH} characters.`),
  baseVersion: baseVersionSchema,
  idempotencyKey: idempotencyKeySchema.optional(),
});
export type SaveDraftInput = z.input<typeof saveDraftInput>;

export const removeDraftInput = z.object({
  id: draftIdSchema,
  /** When given, the removal is refused (CONFLICT) if the draft changed since; omitted, it always removes. */
  baseVersion: baseVersionSchema.optional(),
  idempotencyKey: idempotencyKeySchema.optional(),
});
export type RemoveDraftInput = z.input<typeof removeDraftInput>;

export const getDraftInput = z.object({ id: draftIdSchema });

/** Newest change first; `cursor` is the previous page's `nextCursor`. */
export const listDraftsInput = z.object({
  kind: draftKindSchema.optional(),
  limit: z.number().int().min(1).max(DRAFTS_PAGE_MAX).default(50),
  cursor: z.object({ updatedAt: z.number().int().min(0), id: draftIdSchema }).optional(),
});
export type ListDraftsInput = z.input<typeof listDraftsInput>;

export interface Draft {
  id: string;
  kind: DraftKind;
  subjectRef: string | null;
  title: string;
  body: string;
  /** 1 when created, +1 on every save; what the next write's `baseVersion` must name. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DraftsPage {
  items: Draft[];
  nextCursor: { updatedAt: number; id: string } | null;
}

/** `drafts.remove`'s answer: `removed` is false when it was already gone (removing is idempotent). */
export interface DraftRemoval {
  id: string;
  removed: boolean;
  /** The version the removal left (a removed draft keeps counting, so a stale write still conflicts). */
  version: number;
}

/** `details` of a drafts CONFLICT: the server's version, and whether the draft is removed there. */
export interface DraftConflictDetails {
  [key: string]: string | number | boolean;
  currentVersion: number;
  removed: boolean;
}
