import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { DesktopCachedRecord, CachePutRecordsInput } from '../../../shared/desktop-api.ts';
import { hydrateFromCache, persistToCache, queryKeyOf } from './queryPersistence.ts';

/** The cache's IPC surface over a Map, JSON-copying like IPC does. */
function fakeCache() {
  const records = new Map<string, DesktopCachedRecord>();
  return {
    records,
    getRecord: ({ kind, id }: { kind: string; id: string }) => Promise.resolve(records.get(`${kind}:${id}`) ?? null),
    putRecords: (input: CachePutRecordsInput) => {
      for (const record of input.records) {
        records.set(`${record.kind}:${record.id}`, {
          kind: record.kind,
          id: record.id,
          payload: JSON.parse(JSON.stringify(record.payload)) as Record<string, unknown>,
          serverUpdatedAt: record.serverUpdatedAt ?? null,
          fetchedAt: Date.now(),
          hasLocalChanges: false,
        });
      }
      return Promise.resolve({ written: input.records.length, keptLocal: 0 });
    },
  };
}

describe('answers kept offline', () => {
  it('keeps what the server answered and shows it first after a restart, stale so it is refetched', async () => {
    const cache = fakeCache();
    const before = new QueryClient();
    const stop = persistToCache(before, cache);
    const meetings = [{ id: 'm1', title: 'Kick-off', createdAt: new Date('2026-11-20T10:00:00Z') }];
    await before.fetchQuery({ queryKey: queryKeyOf(['meetings', 'list']), queryFn: () => Promise.resolve(meetings) });
    // Not every query is kept: only the listed ones.
    await before.fetchQuery({ queryKey: queryKeyOf(['security', 'events']), queryFn: () => Promise.resolve([1]) });
    await expect.poll(() => cache.records.size).toBe(1);
    stop();

    const after = new QueryClient({ defaultOptions: { queries: { staleTime: 30_000 } } });
    expect(await hydrateFromCache(after, cache)).toBe(1);
    const restored = after.getQueryData<typeof meetings>(queryKeyOf(['meetings', 'list']));
    // Dates survive the trip through JSON.
    expect(restored).toEqual(meetings);
    expect(restored?.[0]?.createdAt).toBeInstanceOf(Date);
    expect(after.getQueryState(queryKeyOf(['meetings', 'list']))?.dataUpdatedAt).toBeLessThanOrEqual(Date.now());
  });

  it('never overwrites an answer the server already gave', async () => {
    const cache = fakeCache();
    const old = { id: 'u1', email: 'ada@example.com', displayName: 'Old', emailVerified: true, createdAt: 1 };
    await cache.putRecords({ records: [{ kind: 'profile', id: 'me', payload: old }] });
    const client = new QueryClient();
    client.setQueryData(queryKeyOf(['auth', 'me']), { displayName: 'Fresh' });
    expect(await hydrateFromCache(client, cache)).toBe(0);
    expect(client.getQueryData(queryKeyOf(['auth', 'me']))).toEqual({ displayName: 'Fresh' });
  });

  it('keeps who I am in the cache’s profile shape', async () => {
    const cache = fakeCache();
    const client = new QueryClient();
    const stop = persistToCache(client, cache);
    const me = { id: 'u1', email: 'ada@example.com', displayName: 'Ada', emailVerified: true, createdAt: new Date(5) };
    await client.fetchQuery({ queryKey: queryKeyOf(['auth', 'me']), queryFn: () => Promise.resolve(me) });
    await expect.poll(() => cache.records.get('profile:me')?.payload).toEqual({ ...me, createdAt: 5 });
    stop();
    const after = new QueryClient();
    await hydrateFromCache(after, cache);
    expect(after.getQueryData(queryKeyOf(['auth', 'me']))).toEqual(me);
  });
});
