/**
 * The signed-in account's offline data in main: its local cache and outbox
 * (electron/cache/), opened when main learns who is signed in, closed or
 * deleted when they leave, and what `window.megilance.cache` and `.outbox`
 * call.
 *
 * Main learns the account from the credentials flow, which all sign-in
 * state passes through (`withOfflineData` wraps it):
 * - `save({accountId})` right after a sign-in, and every `refresh()` that
 *   answers signed-in (with the user and a fresh access token): the cache of
 *   that server + account is opened (another account's is closed first);
 * - `refresh()` answering `server-unavailable`: the outbox holds its writes;
 * - `refresh()` answering `sign-in-ended` (the server ended the session): the
 *   cache is closed but kept, unsent writes included, for when the same
 *   user signs in again;
 * - `forget()` (the user signed out): the cache file is deleted.
 *
 * The outbox sends with an untyped tRPC client (main may not import the
 * server's router type) to the configured server only, as the desktop client,
 * with the access token of main's latest refresh; when it has none (or it
 * expired) it asks the credentials for one first.
 *
 * Imports no Electron: it runs, and is tested, under Node.
 */
import { createTRPCUntypedClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import superjson from 'superjson';
import type {
  CacheClearInput,
  CacheGetRecordInput,
  CachePutRecordsInput,
  CacheReadCollectionInput,
  CacheWriteCollectionInput,
  DesktopCacheClearResult,
  DesktopCacheKind,
  DesktopCachedRecord,
  DesktopCacheStats,
  DesktopCollectionPage,
  DesktopOutboxItem,
  DesktopOutboxProcedure,
  DesktopOutboxState,
  DesktopReplayReport,
  OutboxEnqueueInput,
} from '../shared/desktop-api.ts';
import type { Draft } from '../shared/drafts.ts';
import type { CacheKind } from './cache/kinds.ts';
import { LocalCache, removeCacheFiles, type AnyRecordWrite, type CacheLogger } from './cache/local-cache.ts';
import { Outbox, type OutboxRetryPolicy, type OutboxState, type OutboxTransport } from './cache/outbox.ts';
import type { OutboxProcedure } from './cache/outbox-writes.ts';
import { CacheError, type OutboxItem } from './cache/protocol.ts';
import type { DesktopCredentials } from './credentials-sign-in.ts';

// shared/ restates the cache's kinds and the outbox's procedures; these fail to compile if the lists drift apart.
const _kindsAgree: [CacheKind] extends [DesktopCacheKind]
  ? [DesktopCacheKind] extends [CacheKind]
    ? true
    : never
  : never = true;
const _proceduresAgree: [OutboxProcedure] extends [DesktopOutboxProcedure]
  ? [DesktopOutboxProcedure] extends [OutboxProcedure]
    ? true
    : never
  : never = true;

/** Where the outbox's writes go; the default is the tRPC client below. */
export type OutboxTransportFactory = (accessToken: () => Promise<string>) => OutboxTransport;

export interface OfflineDataOptions {
  /** `<userData>/cache`. */
  directory: string;
  /** The server the outbox sends to (the app's configured server: nowhere else). */
  serverUrl: string;
  /** The origin the cache files are named by (the embedded server's port changes each launch: desktop-app.ts drops it). */
  storageOrigin: string;
  /** The bundled cache worker (dist/electron/cache-worker.mjs); default: electron/cache/worker.ts (Node, tests). */
  workerUrl?: URL;
  userAgent?: string;
  /** Gets an access token when main has none (wired to `credentials.refresh()`). */
  refreshAccess?: () => Promise<{ accessToken: string; accessExpiresAt: Date } | null>;
  transport?: OutboxTransportFactory;
  retry?: Partial<OutboxRetryPolicy>;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  logger?: CacheLogger;
}

/** Thrown to the renderer by outbox calls when no account's cache is open. */
export class OfflineDataUnavailableError extends Error {
  constructor(message = 'Offline changes are not available: nobody is signed in.') {
    super(message);
    this.name = 'OfflineDataUnavailableError';
  }
}

/** A refusal the outbox classifies as "signed out" (server-failures.ts reads `data.appCode`). */
class NotSignedInError extends Error {
  readonly data = { appCode: 'UNAUTHENTICATED', httpStatus: 401 };
}

/** The tRPC client the outbox sends with: the desktop client, a bearer token, superjson, no redirects. */
export function trpcOutboxTransport(options: {
  serverUrl: string;
  userAgent?: string;
  fetch?: typeof fetch;
}): OutboxTransportFactory {
  return (accessToken) => {
    let token = '';
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const client = createTRPCUntypedClient<AnyRouter>({
      links: [
        httpLink({
          url: `${options.serverUrl}/trpc`,
          transformer: superjson,
          // A redirect must not carry the token to another origin.
          // (tRPC names the DOM's RequestInfo, which main's types lack: it always passes the URL as a string.)
          fetch: (url, init) => fetchImpl(url as string, { ...init, redirect: 'error' } as RequestInit),
          headers: () => ({
            'x-megilance-client': 'desktop',
            authorization: `Bearer ${token}`,
            ...(options.userAgent === undefined ? {} : { 'user-agent': options.userAgent }),
          }),
        }),
      ],
    });
    return {
      mutate: async (procedure, input) => {
        token = await accessToken();
        return await client.mutation(procedure, input);
      },
    };
  };
}

/** What a write's answer leaves in the cache: the saved draft (instants as epoch ms); nothing for a removal. */
export function serverRecordOf(item: OutboxItem, answer: unknown): AnyRecordWrite | null {
  if (item.procedure !== 'drafts.save') return null;
  const draft = answer as Partial<Draft> | null;
  if (
    draft === null ||
    typeof draft !== 'object' ||
    typeof draft.id !== 'string' ||
    !(draft.createdAt instanceof Date) ||
    !(draft.updatedAt instanceof Date)
  ) {
    return null;
  }
  const full = draft as Draft;
  return {
    kind: 'draft',
    id: full.id,
    serverUpdatedAt: full.updatedAt.getTime(),
    payload: { ...full, createdAt: full.createdAt.getTime(), updatedAt: full.updatedAt.getTime() },
  };
}

function itemView(item: OutboxItem): DesktopOutboxItem {
  return {
    id: item.id,
    seq: item.seq,
    procedure: item.procedure,
    input: item.input,
    entity: item.entity,
    baseVersion: item.baseVersion,
    status: item.status,
    attempts: item.attempts,
    lastError: item.lastError,
    problem: item.problem,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

export function outboxStateView(state: OutboxState): DesktopOutboxState {
  return {
    available: true,
    waiting: state.waiting,
    conflicts: state.conflicts.map(itemView),
    failed: state.failed.map(itemView),
    sending: state.sending === null ? null : itemView(state.sending),
    replaying: state.replaying,
    held: state.held,
  };
}

interface Opened {
  accountId: string;
  cache: LocalCache;
  outbox: Outbox;
  unsubscribe: () => void;
}

/** Codes after which a cache file is started over (only unsent writes are lost with it). */
const START_OVER: ReadonlySet<string> = new Set(['NEWER_SCHEMA', 'OPEN_FAILED', 'SQLITE_ERROR']);

export class OfflineData {
  private readonly options: OfflineDataOptions;
  private readonly log: (line: string) => void;
  private readonly listeners = new Set<(state: DesktopOutboxState) => void>();
  private opened: Opened | null = null;
  /** Why the cache of the known account could not be opened. */
  private problem: string | null = null;
  /** The account main last heard of this run (its cache may be closed). */
  private knownAccount: string | null = null;
  private access: { token: string; expiresAt: number } | null = null;
  private online = false;
  /** Opening, closing and deleting happen one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: OfflineDataOptions) {
    this.options = options;
    this.log = options.log ?? ((line: string) => console.warn(line));
  }

  /** The account whose cache is open, if any. */
  get accountId(): string | null {
    return this.opened?.accountId ?? null;
  }

  // ── Told by the credentials flow ──

  /** Someone is signed in: open their cache (closing another's) and send waiting writes. */
  signedIn(accountId: string, access?: { accessToken: string; accessExpiresAt: Date }): Promise<void> {
    if (access !== undefined) {
      this.access = { token: access.accessToken, expiresAt: access.accessExpiresAt.getTime() };
    }
    return this.serialised(async () => {
      this.knownAccount = accountId;
      if (this.opened?.accountId !== accountId) {
        await this.closeOpened();
        await this.open(accountId);
      }
      // Signed in just now, or refreshed: the server answered. Sending asks for a token if there is none yet.
      this.setOnline(true);
    });
  }

  /**
   * The server cannot be reached but this account's sign-in is stored: its
   * data opens for reading (and writes queue) until the server answers.
   */
  openOffline(accountId: string): Promise<void> {
    return this.serialised(async () => {
      this.knownAccount = accountId;
      if (this.opened?.accountId !== accountId) {
        await this.closeOpened();
        await this.open(accountId);
      }
      this.setOnline(false);
    });
  }

  /** The server could not be reached: writes wait. */
  serverUnavailable(): void {
    this.setOnline(false);
  }

  /** The session ended (not by the user): close the cache, keep the file and its unsent writes. */
  sessionEnded(): Promise<void> {
    this.access = null;
    return this.serialised(async () => {
      this.setOnline(false);
      await this.closeOpened();
    });
  }

  /** The user signed out: close the cache and delete its file. */
  signedOut(): Promise<void> {
    this.access = null;
    return this.serialised(async () => {
      this.setOnline(false);
      const opened = this.opened;
      const account = opened?.accountId ?? this.knownAccount;
      if (opened !== null) {
        this.opened = null;
        opened.unsubscribe();
        opened.outbox.stop();
        try {
          await opened.cache.destroy();
        } catch (error) {
          this.log(`offline data: could not delete the cache: ${String(error)}`);
        }
      }
      if (account !== null) {
        // Also when it was not open (it failed to, or the session had ended): nothing of the account stays.
        removeCacheFiles({
          directory: this.options.directory,
          serverOrigin: this.options.storageOrigin,
          accountId: account,
        });
      }
      this.knownAccount = null;
      this.problem = null;
      this.emit({ available: false });
    });
  }

  /** The app quits: finish and close (the file stays). */
  close(): Promise<void> {
    return this.serialised(() => this.closeOpened());
  }

  // ── window.megilance.cache ──

  async stats(): Promise<DesktopCacheStats> {
    const opened = await this.current();
    if (opened === null) {
      return this.problem === null
        ? { open: false, reason: 'signed-out' }
        : { open: false, reason: 'unavailable', message: this.problem };
    }
    const stats = await opened.cache.stats();
    const records = Object.values(stats.records).reduce((sum, count) => sum + count, 0);
    return {
      open: true,
      bytes: stats.bytes,
      records,
      recordsByKind: stats.records,
      collections: stats.collections,
      outbox: stats.outbox,
    };
  }

  async clear(input: CacheClearInput): Promise<DesktopCacheClearResult> {
    const opened = await this.current();
    if (opened === null) return { cleared: false, reason: this.problem === null ? 'signed-out' : 'unavailable' };
    const result = await opened.cache.clear({ includeOutbox: input.includeOutbox });
    if (input.includeOutbox) await this.republish(opened);
    return { cleared: true, ...result };
  }

  async getRecord(input: CacheGetRecordInput): Promise<DesktopCachedRecord | null> {
    const opened = await this.current();
    return opened === null ? null : await opened.cache.getRecord(input.kind, input.id);
  }

  async readCollection(input: CacheReadCollectionInput): Promise<DesktopCollectionPage | null> {
    const opened = await this.current();
    if (opened === null) return null;
    return await opened.cache.readCollection(input.collection, {
      limit: input.limit,
      ...(input.before === undefined ? {} : { before: input.before }),
    });
  }

  async putRecords(input: CachePutRecordsInput): Promise<{ written: number; keptLocal: number } | null> {
    const opened = await this.current();
    if (opened === null) return null;
    // The worker checks each payload against its kind's schema.
    const records = input.records as AnyRecordWrite[];
    return await opened.cache.putRecords(
      records,
      input.keepLocalChanges === undefined ? {} : { keepLocalChanges: input.keepLocalChanges },
    );
  }

  async writeCollection(input: CacheWriteCollectionInput) {
    const opened = await this.current();
    if (opened === null) return null;
    const { collection, items, range, complete, readBack } = input;
    return await opened.cache.writeCollection(collection, items as Parameters<LocalCache['writeCollection']>[1], {
      range,
      ...(complete === undefined ? {} : { complete }),
      ...(readBack === undefined ? {} : { readBack }),
    });
  }

  // ── window.megilance.outbox ──

  async outboxState(): Promise<DesktopOutboxState> {
    const opened = await this.current();
    return opened === null ? { available: false } : outboxStateView(opened.outbox.state);
  }

  async enqueue(input: OutboxEnqueueInput): Promise<DesktopOutboxItem> {
    const outbox = await this.outbox();
    const options = {
      ...(input.baseVersion === undefined ? {} : { baseVersion: input.baseVersion }),
      ...(input.localChange === undefined ? {} : { localChange: input.localChange }),
    };
    // Outbox.enqueue parses the input with the procedure's own schema again.
    const item =
      input.procedure === 'drafts.save'
        ? await outbox.enqueue('drafts.save', input.input, options)
        : await outbox.enqueue('drafts.remove', input.input, options);
    return itemView(item);
  }

  async replay(): Promise<DesktopReplayReport | null> {
    const opened = await this.current();
    if (opened === null) return null;
    const { applied, conflicts, failed, waiting } = await opened.outbox.replay();
    return { applied, conflicts, failed, waiting };
  }

  async keepMine(id: string): Promise<DesktopOutboxItem> {
    return itemView(await (await this.outbox()).keepMine(id));
  }

  async takeTheirs(id: string): Promise<string[]> {
    return await (await this.outbox()).takeTheirs(id);
  }

  async retryFailed(id: string): Promise<DesktopOutboxItem> {
    return itemView(await (await this.outbox()).retryFailed(id));
  }

  async discard(id: string): Promise<string[]> {
    return await (await this.outbox()).discard(id);
  }

  /** Every change of the outbox's state (and `available: false` when the cache closes). */
  onOutboxState(listener: (state: DesktopOutboxState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ── Inside ──

  private serialised<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The open cache once pending opens and closes are done. */
  private async current(): Promise<Opened | null> {
    await this.queue;
    return this.opened;
  }

  private async outbox(): Promise<Outbox> {
    const opened = await this.current();
    if (opened === null) {
      throw new OfflineDataUnavailableError(
        this.problem === null ? undefined : `Offline changes are not available: ${this.problem}`,
      );
    }
    return opened.outbox;
  }

  private async open(accountId: string): Promise<void> {
    const identity = { directory: this.options.directory, serverOrigin: this.options.storageOrigin, accountId };
    const openCache = () =>
      LocalCache.open({
        ...identity,
        ...(this.options.workerUrl === undefined ? {} : { workerUrl: this.options.workerUrl }),
        ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
      });
    let cache: LocalCache;
    try {
      try {
        cache = await openCache();
      } catch (error) {
        if (!(error instanceof CacheError) || !START_OVER.has(error.code)) throw error;
        // A file from a newer app version, or one that is not (or no longer) a database: it is a cache, start over.
        this.log(`offline data: starting the cache over (${error.code}: ${error.message})`);
        removeCacheFiles(identity);
        cache = await openCache();
      }
    } catch (error) {
      this.problem = error instanceof Error ? error.message : String(error);
      this.log(`offline data: the cache could not be opened: ${this.problem}`);
      this.emit({ available: false });
      return;
    }
    const transport = (this.options.transport ?? trpcOutboxTransport(this.transportOptions()))(() =>
      this.accessToken(),
    );
    let outbox: Outbox;
    try {
      outbox = await Outbox.open({
        cache,
        transport,
        serverRecord: serverRecordOf,
        ...(this.options.retry === undefined ? {} : { retry: this.options.retry }),
      });
    } catch (error) {
      await cache.close();
      this.problem = error instanceof Error ? error.message : String(error);
      this.log(`offline data: the outbox could not be read: ${this.problem}`);
      this.emit({ available: false });
      return;
    }
    this.problem = null;
    const unsubscribe = outbox.subscribe((state) => this.emit(outboxStateView(state)));
    this.opened = { accountId, cache, outbox, unsubscribe };
    this.emit(outboxStateView(outbox.state));
    if (this.online) outbox.setOnline(true);
    // A worker that dies leaves no cache behind to call: say so, so the next sign-in opens it again.
    void cache.whenClosed.then(() => {
      if (this.opened?.cache !== cache) return;
      this.opened = null;
      unsubscribe();
      this.problem = 'the cache worker stopped';
      this.log('offline data: the cache worker stopped unexpectedly');
      this.emit({ available: false });
    });
  }

  private transportOptions() {
    return {
      serverUrl: this.options.serverUrl,
      ...(this.options.userAgent === undefined ? {} : { userAgent: this.options.userAgent }),
      ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
    };
  }

  private async closeOpened(): Promise<void> {
    const opened = this.opened;
    if (opened === null) return;
    this.opened = null;
    opened.unsubscribe();
    opened.outbox.stop();
    try {
      await opened.cache.close();
    } catch (error) {
      this.log(`offline data: closing the cache failed: ${String(error)}`);
    }
    this.emit({ available: false });
  }

  private setOnline(online: boolean): void {
    this.online = online;
    this.opened?.outbox.setOnline(online);
  }

  /** A token good for at least another 30 s: main's latest, or a fresh one from the credentials. */
  private async accessToken(): Promise<string> {
    if (this.access !== null && this.access.expiresAt - Date.now() > 30_000) return this.access.token;
    const fresh = await this.options.refreshAccess?.();
    if (fresh === undefined || fresh === null) {
      throw new NotSignedInError('Not signed in: queued changes wait until you sign in again.');
    }
    this.access = { token: fresh.accessToken, expiresAt: fresh.accessExpiresAt.getTime() };
    return fresh.accessToken;
  }

  private async republish(opened: Opened): Promise<void> {
    try {
      await opened.outbox.replay();
    } catch (error) {
      this.log(`offline data: ${String(error)}`);
    }
  }

  private emit(state: DesktopOutboxState): void {
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch (error) {
        this.log(`offline data: an outbox listener failed: ${String(error)}`);
      }
    }
  }
}

/**
 * The credentials as the renderer calls them, telling the offline data who
 * is signed in along the way. Its own failures never fail a sign-in call:
 * they are logged, and the cache stays closed.
 */
export function withOfflineData(credentials: DesktopCredentials, offline: OfflineData): DesktopCredentials {
  const quietly = (what: string, run: () => Promise<void>): void => {
    run().catch((error: unknown) => console.warn(`offline data: ${what} failed: ${String(error)}`));
  };
  return {
    status: () => credentials.status(),
    save: async (input) => {
      const result = await credentials.save(input);
      quietly('opening the cache', () => offline.signedIn(input.accountId));
      return result;
    },
    refresh: async () => {
      const result = await credentials.refresh();
      if (result.status === 'signed-in') {
        quietly('opening the cache', () => offline.signedIn(result.user.id, result));
      } else if (result.status === 'server-unavailable') {
        offline.serverUnavailable();
        // Still signed in (the keychain holds the token): the account's offline data can be read meanwhile.
        const accountId = result.accountId;
        if (accountId !== undefined) quietly('opening the cache offline', () => offline.openOffline(accountId));
      } else if (result.status === 'signed-out' && result.reason === 'sign-in-ended') {
        quietly('closing the cache', () => offline.sessionEnded());
      }
      return result;
    },
    forget: async () => {
      const result = await credentials.forget();
      // Signed out on the server already (the renderer called auth.signOut first): the data goes too.
      await offline.signedOut().catch((error: unknown) => console.warn(`offline data: ${String(error)}`));
      return result;
    },
    chooseMode: (mode) => credentials.chooseMode(mode),
  };
}

/** `refreshAccess` for OfflineData: a main-side refresh through the same credentials (one request shared). */
export function accessFromCredentials(
  credentials: () => DesktopCredentials,
): () => Promise<{ accessToken: string; accessExpiresAt: Date } | null> {
  return async () => {
    const result = await credentials().refresh();
    return result.status === 'signed-in' ? result : null;
  };
}
