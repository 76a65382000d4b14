/**
 * In the desktop app, what the user needs offline is read from the local
 * cache first and refreshed from the server (stale-while-revalidate): the
 * answers of a few queries (who I am, my meetings, my call history) are kept
 * in the account's cache (electron/cache/, through `window.megilance.cache`)
 * whenever the server answers them, and put back into TanStack Query as soon
 * as the signed-in session is known — marked with when they were fetched, so
 * they show at once and are refetched (they are stale), and stay on screen
 * when the server cannot be reached.
 *
 * Values cross IPC as JSON: superjson keeps dates and other non-JSON values.
 */
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import superjson, { type SuperJSONResult } from 'superjson';
import type { CachePutRecordsInput, DesktopCacheKind, MegilanceDesktopApi } from '../../../shared/desktop-api.ts';

type Cache = Pick<MegilanceDesktopApi['cache'], 'getRecord' | 'putRecords'>;

type Payload = CachePutRecordsInput['records'][number]['payload'];

interface PersistedQuery {
  path: readonly string[];
  kind: DesktopCacheKind;
  id: string;
  /** To the cache's payload (kinds with a schema, such as `profile`, have their own shape)… */
  encode(value: unknown): Payload;
  /** …and back. */
  decode(payload: Record<string, unknown>): unknown;
}

/** Any answer, through superjson (dates and other non-JSON values survive). JSON only: no `undefined` members. */
const viaSuperjson = {
  encode: (value: unknown) => JSON.parse(JSON.stringify(superjson.serialize(value))) as Payload,
  decode: (payload: Record<string, unknown>) => superjson.deserialize(payload as unknown as SuperJSONResult),
};

/** `auth.me` in the cache's `profile` shape (instants as epoch ms). */
const profile = {
  encode(value: unknown): Payload {
    const me = value as { id: string; email: string; displayName: string; emailVerified: boolean; createdAt: Date };
    return {
      id: me.id,
      email: me.email,
      displayName: me.displayName,
      emailVerified: me.emailVerified,
      createdAt: me.createdAt.getTime(),
    };
  },
  decode: (payload: Record<string, unknown>) => ({ ...payload, createdAt: new Date(payload['createdAt'] as number) }),
};

/** The queries kept offline: the tRPC procedure path and where its answer lives in the cache. */
export const persistedQueries: readonly PersistedQuery[] = [
  { path: ['auth', 'me'], kind: 'profile', id: 'me', ...profile },
  { path: ['meetings', 'list'], kind: 'call', id: 'meetings', ...viaSuperjson },
  { path: ['calls', 'history'], kind: 'call', id: 'history', ...viaSuperjson },
];

/** tRPC's query key for a procedure without input: `[path, { type: 'query' }]`. */
export function queryKeyOf(path: readonly string[]): QueryKey {
  return [[...path], { type: 'query' }];
}

function entryFor(queryKey: QueryKey) {
  const [path, options] = queryKey as [unknown, unknown];
  if (!Array.isArray(path)) return undefined;
  // Only the input-less form is kept (the screens use exactly that one).
  if (typeof options !== 'object' || options === null || 'input' in options) return undefined;
  return persistedQueries.find(
    (entry) => entry.path.length === path.length && entry.path.every((part, i) => part === path[i]),
  );
}

/** Puts cached answers into the query client, unless the server already answered. Returns how many. */
export async function hydrateFromCache(queryClient: QueryClient, cache: Cache): Promise<number> {
  let restored = 0;
  for (const entry of persistedQueries) {
    const key = queryKeyOf(entry.path);
    if (queryClient.getQueryData(key) !== undefined) continue;
    const record = await cache.getRecord({ kind: entry.kind, id: entry.id }).catch(() => null);
    if (record === null) continue;
    const value = entry.decode(record.payload);
    // Fetched then: older than the queries' stale time, so they refetch at once.
    queryClient.setQueryData(key, value, { updatedAt: record.fetchedAt });
    restored += 1;
  }
  return restored;
}

/** Keeps every successful answer of a persisted query in the cache. Returns the unsubscribe. */
export function persistToCache(queryClient: QueryClient, cache: Cache): () => void {
  return queryClient.getQueryCache().subscribe((event) => {
    if (event.type !== 'updated' || event.action.type !== 'success' || event.action.manual === true) return;
    const entry = entryFor(event.query.queryKey as QueryKey);
    if (entry === undefined) return;
    let payload: Payload;
    try {
      payload = entry.encode(event.query.state.data);
    } catch (error) {
      console.warn('could not keep an answer offline', error);
      return;
    }
    void cache
      .putRecords({
        records: [{ kind: entry.kind, id: entry.id, payload, serverUpdatedAt: event.query.state.dataUpdatedAt }],
      })
      .catch((error: unknown) => console.warn('could not keep an answer offline', error));
  });
}
