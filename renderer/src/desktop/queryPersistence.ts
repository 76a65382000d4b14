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

/** The queries kept offline: the tRPC procedure path and where its answer lives in the cache. */
export const persistedQueries: readonly { path: readonly string[]; kind: DesktopCacheKind; id: string }[] = [
  { path: ['auth', 'me'], kind: 'profile', id: 'me' },
  { path: ['meetings', 'list'], kind: 'call', id: 'meetings' },
  { path: ['calls', 'history'], kind: 'call', id: 'history' },
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
    const value = superjson.deserialize(record.payload as unknown as SuperJSONResult);
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
    // JSON only (no `undefined` members) for the IPC schema.
    const payload = JSON.parse(
      JSON.stringify(superjson.serialize(event.query.state.data)),
    ) as CachePutRecordsInput['records'][number]['payload'];
    void cache
      .putRecords({
        records: [{ kind: entry.kind, id: entry.id, payload, serverUpdatedAt: event.query.state.dataUpdatedAt }],
      })
      .catch((error: unknown) => console.warn('could not keep an answer offline', error));
  });
}
