/**
 * Stale-while-revalidate reads: the cached copy at once (so a screen renders
 * instantly, also offline), then the server's, written through to the cache.
 *
 *   for await (const answer of readThrough(cache, { type: 'record', kind: 'profile', id: 'me' }, fetchMe)) render(answer);
 *
 * yields, in order:
 * 1. `{ source: 'cache', revalidating: true }` when anything is cached, with
 *    its age (skipped: nothing cached);
 * 2. `{ source: 'server' }`: the cache's view after the server's copy was
 *    written (records with unsent local writes keep their local copy);
 *    or, when the server cannot be reached or cannot answer now,
 *    `{ source: 'cache', stale: true, failure }` (if nothing is cached, the
 *    generator throws `NotCachedError` instead).
 *
 * Other server refusals (signed out, forbidden…) are thrown after the cached
 * copy was yielded. With `maxAgeMs`, a cached copy younger than that is
 * final: no request is made.
 */
import type { CachedRecord, CollectionPage } from './protocol.ts';
import type { CollectionItemWrite, LocalCache } from './local-cache.ts';
import type { CacheKind, CachePayload, CollectionRef } from './kinds.ts';
import { classifyServerFailure, isTransient, type ServerFailure } from './server-failures.ts';

export interface RecordQuery<K extends CacheKind> {
  type: 'record';
  kind: K;
  id: string;
}

export interface CollectionQuery<K extends CacheKind> {
  type: 'collection';
  collection: CollectionRef<K>;
  /** Size of the page to answer with (the newest items). */
  limit: number;
}

/** The server's copy of a record, or null when it is gone there (it leaves the cache too). */
export type RecordFetch<K extends CacheKind> = () => Promise<{
  payload: CachePayload<K>;
  serverUpdatedAt?: number | null;
} | null>;

/** The server's copy of a list: all of it, or its newest page. */
export type CollectionFetch<K extends CacheKind> = () => Promise<{
  items: CollectionItemWrite<K>[];
  range: 'all' | 'newest';
  complete?: boolean;
}>;

export interface ReadAnswer<T> {
  source: 'cache' | 'server';
  value: T;
  /** When this copy came from the server (or was last changed locally). */
  fetchedAt: number;
  ageMs: number;
  /** A newer answer follows. */
  revalidating: boolean;
  /** The server could not be reached or could not answer: this copy may be out of date. */
  stale: boolean;
  failure: ServerFailure | null;
}

export interface ReadThroughOptions {
  /** A cached copy younger than this is final (no request). Default 0: always revalidate. */
  maxAgeMs?: number;
  now?: () => number;
}

/** Offline (or the server could not answer) and nothing cached to show instead. */
export class NotCachedError extends Error {
  readonly failure: ServerFailure;

  constructor(failure: ServerFailure) {
    super(`Not available offline: nothing cached, and the server could not answer (${failure.type}).`);
    this.name = 'NotCachedError';
    this.failure = failure;
  }
}

export function readThrough<K extends CacheKind>(
  cache: LocalCache,
  query: RecordQuery<K>,
  fetchFromServer: RecordFetch<K>,
  options?: ReadThroughOptions,
): AsyncGenerator<ReadAnswer<CachedRecord<K> | null>>;
export function readThrough<K extends CacheKind>(
  cache: LocalCache,
  query: CollectionQuery<K>,
  fetchFromServer: CollectionFetch<K>,
  options?: ReadThroughOptions,
): AsyncGenerator<ReadAnswer<CollectionPage<K>>>;
export function readThrough<K extends CacheKind>(
  cache: LocalCache,
  query: RecordQuery<K> | CollectionQuery<K>,
  fetchFromServer: RecordFetch<K> | CollectionFetch<K>,
  options: ReadThroughOptions = {},
): AsyncGenerator<ReadAnswer<CachedRecord<K> | null>> | AsyncGenerator<ReadAnswer<CollectionPage<K>>> {
  const source =
    query.type === 'record'
      ? recordSource(cache, query, fetchFromServer as RecordFetch<K>)
      : collectionSource(cache, query, fetchFromServer as CollectionFetch<K>);
  return revalidate(source as Source<CachedRecord<K> | null> & Source<CollectionPage<K>>, options);
}

/** How one kind of query reads the cache and writes the server's answer through. */
interface Source<T> {
  /** The cached copy and when it was fetched; null when nothing is cached. */
  cached(): Promise<{ value: T; fetchedAt: number } | null>;
  /** Asks the server, writes the answer through, and returns the cache's view of it. */
  refresh(): Promise<T>;
}

async function* revalidate<T>(source: Source<T>, options: ReadThroughOptions): AsyncGenerator<ReadAnswer<T>> {
  const now = options.now ?? Date.now;
  const cached = await source.cached();
  if (cached !== null) {
    const ageMs = Math.max(0, now() - cached.fetchedAt);
    const fresh = ageMs < (options.maxAgeMs ?? 0);
    yield { ...cached, source: 'cache', ageMs, revalidating: !fresh, stale: false, failure: null };
    if (fresh) return;
  }
  let value: T;
  try {
    value = await source.refresh();
  } catch (error) {
    const failure = classifyServerFailure(error);
    if (!isTransient(failure)) throw error;
    if (cached === null) throw new NotCachedError(failure);
    const ageMs = Math.max(0, now() - cached.fetchedAt);
    yield { ...cached, source: 'cache', ageMs, revalidating: false, stale: true, failure };
    return;
  }
  yield { source: 'server', value, fetchedAt: now(), ageMs: 0, revalidating: false, stale: false, failure: null };
}

function recordSource<K extends CacheKind>(
  cache: LocalCache,
  query: RecordQuery<K>,
  fetchFromServer: RecordFetch<K>,
): Source<CachedRecord<K> | null> {
  return {
    async cached() {
      const record = await cache.getRecord(query.kind, query.id);
      return record === null ? null : { value: record, fetchedAt: record.fetchedAt };
    },
    async refresh() {
      const fetched = await fetchFromServer();
      if (fetched === null) {
        await cache.deleteRecords([{ kind: query.kind, id: query.id }]);
        return null;
      }
      const write = {
        kind: query.kind,
        id: query.id,
        payload: fetched.payload,
        serverUpdatedAt: fetched.serverUpdatedAt ?? null,
      };
      await cache.putRecords([write as Parameters<LocalCache['putRecords']>[0][number]]);
      return cache.getRecord(query.kind, query.id);
    },
  };
}

function collectionSource<K extends CacheKind>(
  cache: LocalCache,
  query: CollectionQuery<K>,
  fetchFromServer: CollectionFetch<K>,
): Source<CollectionPage<K>> {
  return {
    async cached() {
      const page = await cache.readCollection(query.collection, { limit: query.limit });
      return page.fetchedAt === null ? null : { value: page, fetchedAt: page.fetchedAt };
    },
    async refresh() {
      const fetched = await fetchFromServer();
      const options = {
        range: fetched.range,
        readBack: query.limit,
        ...(fetched.complete === undefined ? {} : { complete: fetched.complete }),
      };
      const { page } = await cache.writeCollection(query.collection, fetched.items, options);
      return page!;
    },
  };
}
