/**
 * The local cache as the main process uses it: one SQLite file per server
 * origin and account, owned by a worker thread (worker.ts), reached through
 * typed async requests (protocol.ts). Nothing here blocks: every call is a
 * message to the worker and a promise for its answer.
 *
 * Files are named by a hash of the origin and the account id, under a folder
 * the app chooses (`<userData>/cache`), so one account's cache can never be
 * opened as another's (the file also records both and refuses a mismatch).
 * `clear()` empties it (Settings); `destroy()` closes it and deletes the
 * file with its -wal and -shm companions (sign-out).
 *
 * Imports no Electron: it runs, and is tested, under plain Node.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CacheError,
  type CachedRecord,
  type CacheInput,
  type CacheMainMessage,
  type CacheOp,
  type CacheResults,
  type CacheStats,
  type CacheWorkerData,
  type CacheWorkerMessage,
  type CollectionCursor,
  type CollectionPage,
} from './protocol.ts';
import type { CacheKind, CachePayload, CollectionRef } from './kinds.ts';

/** Where slow queries go: pino's `logger.warn(details, message)` fits. */
export interface CacheLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface CacheIdentity {
  /** The folder holding cache files, e.g. `<userData>/cache`. */
  directory: string;
  /** The server's origin, e.g. `https://megilance.example.com`. */
  serverOrigin: string;
  /** The signed-in user's id on that server. */
  accountId: string;
}

export interface LocalCacheOptions extends CacheIdentity {
  /** Statements and requests taking this long or longer are logged (SQL shape and ms only). Default 50. */
  slowQueryMs?: number;
  logger?: CacheLogger;
  /** The worker's entry file. Default: worker.ts beside this file; a bundled app passes its built worker. */
  workerUrl?: URL;
  /** How long `close()` waits for the worker to finish before terminating it. Default 5000 ms. */
  closeTimeoutMs?: number;
}

export interface RecordWrite<K extends CacheKind = CacheKind> {
  kind: K;
  id: string;
  payload: CachePayload<K>;
  serverUpdatedAt?: number | null;
}
/** A record of any kind, each with its own kind's payload type. */
export type AnyRecordWrite = { [K in CacheKind]: RecordWrite<K> }[CacheKind];

export interface CollectionItemWrite<K extends CacheKind> {
  id: string;
  payload: CachePayload<K>;
  serverUpdatedAt?: number | null;
  sortKey: number;
}

export interface WriteCollectionOptions {
  /** `all`: the whole list; `newest`: its first page; `older`: a further page. */
  range: 'all' | 'newest' | 'older';
  /** Whether the cache now holds the whole list (implied by `all`). */
  complete?: boolean;
  /** Server refreshes leave records with unsent writes alone (default true). */
  keepLocalChanges?: boolean;
  /** Answer with the first page of this size as it now stands (default 0: no page). */
  readBack?: number;
}

const DEFAULT_SLOW_QUERY_MS = 50;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
const consoleLogger: CacheLogger = { warn: (details, message) => console.warn(message, details) };

/** The cache file for a server origin and account (not created). */
export function cacheFileFor({ directory, serverOrigin, accountId }: CacheIdentity): string {
  return join(directory, `${cacheFileHash(normalizeOrigin(serverOrigin), checkAccountId(accountId))}.sqlite`);
}

/** Deletes a cache file and its WAL companions whether or not it is open anywhere (sign-out when not open). */
export function removeCacheFiles(identity: CacheIdentity): void {
  const file = cacheFileFor(identity);
  for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(path, { force: true });
}

interface PendingRequest {
  resolve: (value: unknown) => void;
  reject: (error: CacheError) => void;
}

export class LocalCache {
  readonly directory: string;
  readonly file: string;
  readonly serverOrigin: string;
  readonly accountId: string;
  readonly schemaVersion: number;
  /** Migrations this open applied (empty when the file was current). */
  readonly migrated: number[];
  /** Kinds whose records were dropped at open because their payload version changed. */
  readonly droppedKinds: CacheKind[];
  /** Settles when the worker has gone (closed, destroyed or crashed). */
  readonly whenClosed: Promise<void>;

  private readonly worker: Worker;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly closeTimeoutMs: number;
  private nextId = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | null = null;
  private ended: CacheError | null = null;

  /** Opens (creating and migrating if needed) the cache for this server and account. Rejects with a CacheError. */
  static async open(options: LocalCacheOptions): Promise<LocalCache> {
    const serverOrigin = normalizeOrigin(options.serverOrigin);
    const accountId = checkAccountId(options.accountId);
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    const file = cacheFileFor({ directory: options.directory, serverOrigin, accountId });
    const logger = options.logger ?? consoleLogger;
    const data: CacheWorkerData = {
      file,
      slowQueryMs: options.slowQueryMs ?? DEFAULT_SLOW_QUERY_MS,
      identity: { serverOrigin, accountId },
    };
    const worker = new Worker(options.workerUrl ?? new URL('./worker.ts', import.meta.url), { workerData: data });
    const ready = await new Promise<Extract<CacheWorkerMessage, { type: 'ready' }>>((resolve, reject) => {
      const fail = (error: CacheError) => {
        cleanup();
        void worker.terminate();
        reject(error);
      };
      const onMessage = (message: CacheWorkerMessage) => {
        if (message.type === 'ready') {
          cleanup();
          resolve(message);
        } else if (message.type === 'open-failed') {
          fail(CacheError.fromShape(message.error));
        } else if (message.type === 'slow-query') {
          logSlowQuery(logger, file, message);
        }
      };
      const onError = (error: Error) =>
        fail(new CacheError('OPEN_FAILED', `The cache worker failed to start: ${error.message}`, { cause: error }));
      const onExit = (code: number) =>
        fail(new CacheError('WORKER_EXITED', `The cache worker exited (code ${code}) before the cache opened.`));
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    return new LocalCache(worker, { file, serverOrigin, accountId, logger, options, ready });
  }

  private constructor(
    worker: Worker,
    init: {
      file: string;
      serverOrigin: string;
      accountId: string;
      logger: CacheLogger;
      options: LocalCacheOptions;
      ready: Extract<CacheWorkerMessage, { type: 'ready' }>;
    },
  ) {
    this.worker = worker;
    this.directory = init.options.directory;
    this.file = init.file;
    this.serverOrigin = init.serverOrigin;
    this.accountId = init.accountId;
    this.schemaVersion = init.ready.schemaVersion;
    this.migrated = init.ready.migrated;
    this.droppedKinds = init.ready.droppedKinds;
    this.closeTimeoutMs = init.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    const { logger, file } = init;
    this.whenClosed = new Promise((resolve) => {
      worker.on('message', (message: CacheWorkerMessage) => {
        if (message.type === 'result') {
          const request = this.pending.get(message.id);
          if (request === undefined) return;
          this.pending.delete(message.id);
          if (message.ok) request.resolve(message.value);
          else request.reject(CacheError.fromShape(message.error));
        } else if (message.type === 'slow-query') {
          logSlowQuery(logger, file, message);
        }
      });
      worker.on('error', (error: Error) => {
        this.end(new CacheError('WORKER_EXITED', `The cache worker failed: ${error.message}`, { cause: error }));
      });
      worker.on('exit', (code) => {
        this.end(
          this.state === 'closing'
            ? new CacheError('CLOSED', 'The cache was closed.')
            : new CacheError('WORKER_EXITED', `The cache worker exited unexpectedly (code ${code}).`),
        );
        resolve();
      });
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** One typed request to the worker. Rejects with a CacheError (CLOSED once closed, WORKER_EXITED if it died). */
  request<O extends CacheOp>(op: O, input: CacheInput<O>): Promise<CacheResults[O]> {
    if (this.state !== 'open') {
      return Promise.reject(this.ended ?? new CacheError('CLOSED', 'The cache was closed.'));
    }
    const id = this.nextId++;
    return new Promise<CacheResults[O]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ type: 'request', id, op, input } as CacheMainMessage);
    });
  }

  async getRecord<K extends CacheKind>(kind: K, id: string): Promise<CachedRecord<K> | null> {
    return (await this.request('getRecord', { ref: { kind, id } })) as CachedRecord<K> | null;
  }

  /** Writes server copies; records with unsent writes keep their local copy unless `keepLocalChanges` is false. */
  putRecords(
    records: readonly AnyRecordWrite[],
    options: { keepLocalChanges?: boolean } = {},
  ): Promise<CacheResults['putRecords']> {
    return this.request('putRecords', { records: [...records], keepLocalChanges: options.keepLocalChanges ?? true });
  }

  deleteRecords(refs: readonly { kind: CacheKind; id: string }[]): Promise<CacheResults['deleteRecords']> {
    return this.request('deleteRecords', { refs: [...refs] });
  }

  /** A page of a list, highest sort key first; `before` is the previous page's `nextCursor`. */
  async readCollection<K extends CacheKind>(
    collection: CollectionRef<K>,
    options: { limit: number; before?: CollectionCursor },
  ): Promise<CollectionPage<K>> {
    const input: CacheInput<'readCollection'> = { collection, limit: options.limit };
    if (options.before !== undefined) input.before = options.before;
    return (await this.request('readCollection', input)) as CollectionPage<K>;
  }

  async writeCollection<K extends CacheKind>(
    collection: CollectionRef<K>,
    items: readonly CollectionItemWrite<K>[],
    options: WriteCollectionOptions,
  ): Promise<Omit<CacheResults['writeCollection'], 'page'> & { page: CollectionPage<K> | null }> {
    const input: CacheInput<'writeCollection'> = {
      collection,
      items: [...items],
      range: options.range,
      keepLocalChanges: options.keepLocalChanges ?? true,
      readBack: options.readBack ?? 0,
    };
    if (options.complete !== undefined) input.complete = options.complete;
    const result = await this.request('writeCollection', input);
    return { ...result, page: result.page as CollectionPage<K> | null };
  }

  /**
   * Settings → "Clear cache": empties records and lists and shrinks the file.
   * Unsent writes (and the records they change) stay unless `includeOutbox`.
   */
  clear(options: { includeOutbox?: boolean } = {}): Promise<CacheResults['clear']> {
    return this.request('clear', { includeOutbox: options.includeOutbox ?? false });
  }

  stats(): Promise<CacheStats> {
    return this.request('stats', {});
  }

  /** Finishes requests already sent, closes the database (WAL checkpointed) and ends the worker. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'closing';
    this.post({ type: 'close' });
    const timeout = setTimeout(() => void this.worker.terminate(), this.closeTimeoutMs);
    this.closing = this.whenClosed.finally(() => clearTimeout(timeout));
    return this.closing;
  }

  /** Sign-out: closes the cache and deletes its file (and -wal, -shm). Unsent writes are lost with it. */
  async destroy(): Promise<void> {
    await this.close();
    removeCacheFiles({ directory: this.directory, serverOrigin: this.serverOrigin, accountId: this.accountId });
  }

  private post(message: CacheMainMessage): void {
    this.worker.postMessage(message);
  }

  private end(error: CacheError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.ended = error;
    for (const request of this.pending.values()) request.reject(error);
    this.pending.clear();
  }
}

function logSlowQuery(logger: CacheLogger, file: string, event: Extract<CacheWorkerMessage, { type: 'slow-query' }>) {
  logger.warn(
    { component: 'cache', file, op: event.op, sql: event.sql, ms: Math.round(event.ms * 10) / 10 },
    'slow query',
  );
}

function normalizeOrigin(serverOrigin: string): string {
  let url: URL;
  try {
    url = new URL(serverOrigin);
  } catch {
    throw new CacheError('INVALID_REQUEST', 'The server origin is not a URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CacheError('INVALID_REQUEST', 'The server origin must be http(s).');
  }
  return url.origin;
}

function checkAccountId(accountId: string): string {
  if (accountId.length === 0 || accountId.length > 256) {
    throw new CacheError('INVALID_REQUEST', 'The account id must be 1 to 256 characters.');
  }
  return accountId;
}

function cacheFileHash(serverOrigin: string, accountId: string): string {
  return createHash('sha256').update(`megilance-cache\n${serverOrigin}\n${accountId}`).digest('hex').slice(0, 32);
}
