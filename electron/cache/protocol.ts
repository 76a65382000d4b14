/**
 * The message protocol between the main process (local-cache.ts) and the
 * cache worker (worker.ts). Every operation is a named zod schema for its
 * input and a type for its answer; the worker parses each request with its
 * operation's schema before any SQL runs and dispatches through a typed
 * handler map (no string switch). Failures come back as `CacheError`s with a
 * code, never as bare strings.
 *
 * What crosses the thread boundary is structured-cloned plain data: payloads
 * are JSON objects (instants as epoch milliseconds). The schemas use
 * `zod/mini`: the worker loads this module on every cold open (kinds.ts says why).
 */
import * as z from 'zod/mini';
import { cacheKindNames, type CacheKind, type CachePayload, type EntityRef } from './kinds.ts';
import type { OutboxProcedure } from './outbox-writes.ts';

/* ------------------------------------------------------------------------ */
/* Errors                                                                     */
/* ------------------------------------------------------------------------ */

export const cacheErrorCodes = [
  /** The request did not match its schema (or a payload its kind's schema). */
  'INVALID_REQUEST',
  /** An outbox item that no longer exists. */
  'NOT_FOUND',
  /** An outbox item not in a state the operation applies to (e.g. resolving one without a conflict). */
  'WRONG_STATE',
  /** SQLite refused a statement; `sqliteCode` says why (SQLITE_FULL, SQLITE_CORRUPT, …). */
  'SQLITE_ERROR',
  /** The database file could not be opened or migrated. */
  'OPEN_FAILED',
  /** The file was written by a newer app version (its schema is ahead of this one's). */
  'NEWER_SCHEMA',
  /** The file belongs to another server or account than the one asked for. */
  'IDENTITY_MISMATCH',
  /** The worker thread died; requests in flight fail with this. */
  'WORKER_EXITED',
  /** The cache was closed (or destroyed) before or during the request. */
  'CLOSED',
  'INTERNAL',
] as const;
export type CacheErrorCode = (typeof cacheErrorCodes)[number];

/** An error as it crosses the thread boundary. */
export interface CacheErrorShape {
  code: CacheErrorCode;
  message: string;
  sqliteCode: string | null;
}

export class CacheError extends Error {
  readonly code: CacheErrorCode;
  readonly sqliteCode: string | null;

  constructor(code: CacheErrorCode, message: string, options: { sqliteCode?: string | null; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CacheError';
    this.code = code;
    this.sqliteCode = options.sqliteCode ?? null;
  }

  toShape(): CacheErrorShape {
    return { code: this.code, message: this.message, sqliteCode: this.sqliteCode };
  }

  static fromShape(shape: CacheErrorShape): CacheError {
    return new CacheError(shape.code, shape.message, { sqliteCode: shape.sqliteCode });
  }
}

/* ------------------------------------------------------------------------ */
/* What the cache answers with                                                */
/* ------------------------------------------------------------------------ */

export interface CachedRecord<K extends CacheKind = CacheKind> {
  kind: K;
  id: string;
  payload: CachePayload<K>;
  /** The server's own change time of the record, when it said; null when unknown or only local. */
  serverUpdatedAt: number | null;
  /** When this copy was written (fetched from the server, or changed locally). */
  fetchedAt: number;
  /** Unsent outbox writes touch this record: the payload includes local changes the server has not seen. */
  hasLocalChanges: boolean;
}

export interface CollectionItem<K extends CacheKind = CacheKind> extends CachedRecord<K> {
  sortKey: number;
}

export interface CollectionCursor {
  sortKey: number;
  id: string;
}

export interface CollectionPage<K extends CacheKind = CacheKind> {
  collection: string;
  kind: K;
  /** When the list was last refreshed from the server; null if it never was (nothing cached). */
  fetchedAt: number | null;
  /** Whether the cache holds the whole list (so reaching its end means the end). */
  complete: boolean;
  /** Highest sort key first. */
  items: CollectionItem<K>[];
  /** Pass as `before` for the next (older) page; null at the end of what is cached. */
  nextCursor: CollectionCursor | null;
}

export type OutboxStatus = 'pending' | 'conflict' | 'failed';
export type ProblemDetails = Record<string, string | number | boolean>;

export interface OutboxItem {
  /** Stable id of the queued write (an item keeps it when resent with a new key). */
  id: string;
  /** Replay order. */
  seq: number;
  procedure: OutboxProcedure;
  /** The procedure's input without idempotencyKey and baseVersion. */
  input: Record<string, unknown>;
  idempotencyKey: string;
  entity: EntityRef | null;
  /** The entity version this write applies to; rewritten when an earlier write on the entity lands. */
  baseVersion: number | null;
  status: OutboxStatus;
  /** Failed sends (network, 5xx) so far. */
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number | null;
  /** For `conflict` and `failed`: the server's message and details (a conflict's `currentVersion`). */
  problem: { message: string; details: ProblemDetails } | null;
  createdAt: number;
  updatedAt: number;
}

export interface CacheStats {
  file: string;
  schemaVersion: number;
  bytes: number;
  records: Partial<Record<CacheKind, number>>;
  collections: number;
  outbox: Record<OutboxStatus, number>;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                   */
/* ------------------------------------------------------------------------ */

const int = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const epochMs = int(0, Number.MAX_SAFE_INTEGER);
const version = int(0, Number.MAX_SAFE_INTEGER);
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const kindSchema = z.enum(cacheKindNames);
const recordId = text(1, 256);
const itemId = z.uuid();
const BATCH_MAX = 100_000;
const list = <T extends z.ZodMiniType>(item: T) => z.array(item).check(z.maxLength(BATCH_MAX));
export const recordRefSchema = z.object({ kind: kindSchema, id: recordId });
const collectionRefSchema = z.object({ name: text(1, 512), kind: kindSchema });
/** Checked against the kind's own schema by the worker. */
const payloadSchema = z.record(z.string(), z.unknown());
const recordWriteSchema = z.object({
  kind: kindSchema,
  id: recordId,
  payload: payloadSchema,
  serverUpdatedAt: z._default(z.nullable(epochMs), null),
});
const collectionItemWriteSchema = z.object({
  id: recordId,
  payload: payloadSchema,
  serverUpdatedAt: z._default(z.nullable(epochMs), null),
  sortKey: z.number(),
});
const cursorSchema = z.object({ sortKey: z.number(), id: recordId });
const idempotencyKey = z.string().check(z.regex(/^[A-Za-z0-9_-]{16,64}$/));
/** A procedure name such as `drafts.save`; which ones may be queued is checked in main (outbox-writes.ts). */
const procedureName = z.string().check(z.maxLength(128), z.regex(/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$/));
const problemDetailsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** An optimistic change to the cached copy, written in the same transaction as the queued write. */
const localChangeSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('put'),
    record: recordWriteSchema,
    addTo: z._default(list(z.object({ collection: collectionRefSchema, sortKey: z.number() })), []),
  }),
  z.object({ type: z.literal('remove'), ref: recordRefSchema }),
]);
export type LocalChange = z.input<typeof localChangeSchema>;

export const cacheRequests = {
  getRecord: z.object({ ref: recordRefSchema }),
  /** `keepLocalChanges`: records with unsent writes keep their local copy (server refreshes skip them). */
  putRecords: z.object({ records: list(recordWriteSchema), keepLocalChanges: z.boolean() }),
  deleteRecords: z.object({ refs: list(recordRefSchema) }),
  readCollection: z.object({
    collection: collectionRefSchema,
    limit: int(1, 1_000),
    before: z.optional(cursorSchema),
  }),
  /**
   * `all`: the items are the whole list (others leave it). `newest`: the
   * newest page (others within its sort-key range leave it; older ones stay).
   * `older`: a further page (added; nothing leaves). `readBack` > 0 answers
   * with the first page of that size as it now stands.
   */
  writeCollection: z.object({
    collection: collectionRefSchema,
    items: list(collectionItemWriteSchema),
    range: z.enum(['all', 'newest', 'older']),
    complete: z.optional(z.boolean()),
    keepLocalChanges: z.boolean(),
    readBack: int(0, 1_000),
  }),
  clear: z.object({ includeOutbox: z.boolean() }),
  stats: z.object({}),
  /** A write checked by main against its procedure's schema (outbox-writes.ts), with the entity it changes. */
  outboxEnqueue: z.object({
    id: itemId,
    idempotencyKey,
    procedure: procedureName,
    input: payloadSchema,
    entity: z.nullable(recordRefSchema),
    baseVersion: z.nullable(version),
    localChange: z.optional(localChangeSchema),
  }),
  outboxList: z.object({}),
  /** The server applied it: the item leaves; later writes on the entity are rebased on `resultVersion`. */
  outboxApplied: z.object({
    id: itemId,
    resultVersion: z.nullable(version),
    serverRecord: z.optional(recordWriteSchema),
  }),
  outboxAttemptFailed: z.object({ id: itemId, error: text(0, 2_000), nextAttemptAt: z.nullable(epochMs) }),
  outboxProblem: z.object({
    id: itemId,
    status: z.enum(['conflict', 'failed']),
    message: text(0, 2_000),
    details: problemDetailsSchema,
  }),
  /** Back to pending with a new key (and, for a conflict, the server's version as base). */
  outboxResend: z.object({ id: itemId, idempotencyKey, baseVersion: z.optional(z.nullable(version)) }),
  /** Removes the item, and with `withFollowers` the later writes on the same entity. */
  outboxDrop: z.object({ id: itemId, withFollowers: z.boolean() }),
} as const;

export type CacheOp = keyof typeof cacheRequests;
export const cacheOpNames = Object.keys(cacheRequests) as [CacheOp, ...CacheOp[]];
export type CacheInput<O extends CacheOp> = z.input<(typeof cacheRequests)[O]>;
export type CacheParsedInput<O extends CacheOp> = z.output<(typeof cacheRequests)[O]>;

export interface CacheResults {
  getRecord: CachedRecord | null;
  putRecords: { written: number; keptLocal: number };
  deleteRecords: { deleted: number };
  readCollection: CollectionPage;
  writeCollection: { written: number; removed: number; keptLocal: number; page: CollectionPage | null };
  clear: { records: number; outboxKept: number };
  stats: CacheStats;
  outboxEnqueue: OutboxItem;
  outboxList: OutboxItem[];
  outboxApplied: { rebased: number };
  outboxAttemptFailed: OutboxItem;
  outboxProblem: OutboxItem;
  outboxResend: OutboxItem;
  outboxDrop: { dropped: string[] };
}

/* ------------------------------------------------------------------------ */
/* Envelopes                                                                  */
/* ------------------------------------------------------------------------ */

/** Given to the worker at start (workerData), parsed there. */
export const cacheWorkerDataSchema = z.object({
  file: text(1, 4_096),
  slowQueryMs: z.number().check(z.minimum(0)),
  identity: z.object({ serverOrigin: text(1, 2_048), accountId: text(1, 256) }),
});
export type CacheWorkerData = z.infer<typeof cacheWorkerDataSchema>;

/** Main → worker: a request (its input parsed by the worker with `cacheRequests[op]`), or close. */
export const cacheMainMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('request'),
    id: int(0, Number.MAX_SAFE_INTEGER),
    op: z.enum(cacheOpNames),
    input: z.unknown(),
  }),
  z.object({ type: z.literal('close') }),
]);
export type CacheMainMessage =
  { [O in CacheOp]: { type: 'request'; id: number; op: O; input: CacheInput<O> } }[CacheOp] | { type: 'close' };

/** Worker → main. */
export type CacheWorkerMessage =
  | { type: 'ready'; schemaVersion: number; migrated: number[]; droppedKinds: CacheKind[] }
  | { type: 'open-failed'; error: CacheErrorShape }
  /** Answer to `close`: the database is closed (WAL checkpointed); the thread ends next. */
  | { type: 'closed' }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: CacheErrorShape }
  /** A statement (its SQL with placeholders: never values) or a whole request that took `ms` or more. */
  | { type: 'slow-query'; op: CacheOp | 'open'; sql: string; ms: number };
