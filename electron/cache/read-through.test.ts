/**
 * Stale-while-revalidate over a real cache (worker + SQLite file). The
 * server's answers are plain functions here; "offline" is a real fetch to a
 * loopback port nothing listens on, so the failure is the one a client
 * really sees. tests/desktop/cache-offline.test.ts does the same against a
 * real MegiLance server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalCache } from './local-cache.ts';
import { NotCachedError, readThrough, type ReadAnswer } from './read-through.ts';
import { cacheCollections, type CachePayload } from './kinds.ts';

const root = mkdtempSync(join(tmpdir(), 'megilance-swr-'));
let cache: LocalCache;
let deadPort: number;
let clock = 1_000_000;
const now = () => clock;

beforeAll(async () => {
  // A port that was just free and is closed again: connecting is refused, like a server that is down.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
});
afterEach(async () => {
  await cache?.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function openCache(): Promise<LocalCache> {
  cache = await LocalCache.open({
    directory: mkdtempSync(join(root, 'c-')),
    serverOrigin: 'http://localhost:8420',
    accountId: 'ada',
  });
  return cache;
}

/** What a tRPC client throws when nothing answers: its error carries no `data`. */
async function unreachableServer(): Promise<never> {
  await fetch(`http://127.0.0.1:${deadPort}/trpc/auth.me`);
  throw new Error(`something answered on port ${deadPort}`);
}

const profile = (displayName: string): CachePayload<'profile'> => ({
  id: 'u1',
  email: 'ada@example.com',
  displayName,
  emailVerified: true,
  createdAt: 1,
});

async function collect<T>(answers: AsyncGenerator<ReadAnswer<T>>): Promise<ReadAnswer<T>[]> {
  const all: ReadAnswer<T>[] = [];
  for await (const answer of answers) all.push(answer);
  return all;
}

const me = { type: 'record', kind: 'profile', id: 'me' } as const;

describe('readThrough', () => {
  it('yields the cached copy with its age first, then the server copy, which it writes through', async () => {
    await openCache();
    await cache.putRecords([{ kind: 'profile', id: 'me', payload: profile('Ada (cached)') }]);
    const cachedAt = (await cache.getRecord('profile', 'me'))!.fetchedAt;
    clock = cachedAt + 90_000;
    const order: string[] = [];
    const answers: ReadAnswer<unknown>[] = [];
    for await (const answer of readThrough(
      cache,
      me,
      () => {
        order.push('fetch');
        return Promise.resolve({ payload: profile('Ada (fresh)') });
      },
      { now },
    )) {
      order.push(answer.source);
      answers.push(answer);
    }
    // The cached copy is there before the server is even asked.
    expect(order).toEqual(['cache', 'fetch', 'server']);
    expect(answers[0]).toMatchObject({
      source: 'cache',
      ageMs: 90_000,
      revalidating: true,
      stale: false,
      value: { payload: { displayName: 'Ada (cached)' } },
    });
    expect(answers[1]).toMatchObject({
      source: 'server',
      revalidating: false,
      stale: false,
      value: { payload: { displayName: 'Ada (fresh)' } },
    });
    expect((await cache.getRecord('profile', 'me'))?.payload.displayName).toBe('Ada (fresh)');
  });

  it('with nothing cached, yields only the server copy', async () => {
    await openCache();
    const answers = await collect(readThrough(cache, me, () => Promise.resolve({ payload: profile('Ada') })));
    expect(answers.map((a) => a.source)).toEqual(['server']);
  });

  it('offline, yields the cached copy again, flagged stale, with why', async () => {
    await openCache();
    await cache.putRecords([{ kind: 'profile', id: 'me', payload: profile('Ada (cached)') }]);
    const answers = await collect(readThrough(cache, me, unreachableServer));
    expect(answers.map((a) => [a.source, a.stale])).toEqual([
      ['cache', false],
      ['cache', true],
    ]);
    expect(answers[1]?.failure?.type).toBe('unreachable');
    expect(answers[1]?.value?.payload.displayName).toBe('Ada (cached)');
  });

  it('offline with nothing cached, throws NotCachedError', async () => {
    await openCache();
    await expect(collect(readThrough(cache, me, unreachableServer))).rejects.toBeInstanceOf(NotCachedError);
  });

  it('a copy younger than maxAgeMs is final: the server is not asked', async () => {
    await openCache();
    await cache.putRecords([{ kind: 'profile', id: 'me', payload: profile('Ada') }]);
    clock = (await cache.getRecord('profile', 'me'))!.fetchedAt + 1_000;
    const answers = await collect(readThrough(cache, me, unreachableServer, { maxAgeMs: 60_000, now }));
    expect(answers).toEqual([expect.objectContaining({ source: 'cache', revalidating: false, stale: false })]);
  });

  it('throws a refusal that is not about reaching the server, after the cached copy', async () => {
    await openCache();
    await cache.putRecords([{ kind: 'profile', id: 'me', payload: profile('Ada') }]);
    const signedOut = Object.assign(new Error('Please sign in to continue.'), {
      data: { appCode: 'UNAUTHENTICATED', httpStatus: 401, details: null },
    });
    const seen: string[] = [];
    await expect(async () => {
      for await (const answer of readThrough(cache, me, () => Promise.reject(signedOut))) seen.push(answer.source);
    }).rejects.toBe(signedOut);
    expect(seen).toEqual(['cache']);
  });

  it('removes a record the server says is gone', async () => {
    await openCache();
    await cache.putRecords([{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }]);
    const answers = await collect(
      readThrough(cache, { type: 'record', kind: 'job', id: 'j1' }, () => Promise.resolve(null)),
    );
    expect(answers.at(-1)).toMatchObject({ source: 'server', value: null });
    expect(await cache.getRecord('job', 'j1')).toBeNull();
  });

  it('revalidates a list: the newest page from the server, merged with what is cached', async () => {
    await openCache();
    const thread = cacheCollections.threadMessages('t1');
    const msg = (n: number) => ({ id: `m${n}`, payload: { body: `#${n}` }, sortKey: n });
    await cache.writeCollection(thread, [1, 2, 3].map(msg), { range: 'all' });
    const answers = await collect(
      readThrough(cache, { type: 'collection', collection: thread, limit: 3 }, () =>
        Promise.resolve({ items: [5, 4, 3].map(msg), range: 'newest' as const }),
      ),
    );
    expect(answers.map((a) => a.value.items.map((m) => m.id))).toEqual([
      ['m3', 'm2', 'm1'],
      ['m5', 'm4', 'm3'],
    ]);
    expect((await cache.readCollection(thread, { limit: 10 })).items).toHaveLength(5);

    const offline = await collect(
      readThrough(cache, { type: 'collection', collection: thread, limit: 2 }, unreachableServer),
    );
    expect(offline.at(-1)).toMatchObject({ source: 'cache', stale: true });
    expect(offline.at(-1)?.value.items.map((m) => m.id)).toEqual(['m5', 'm4']);
  });

  it('keeps the local copy of a record with unsent writes when the server copy arrives', async () => {
    await openCache();
    const id = crypto.randomUUID();
    const local = { id, kind: 'note' as const, subjectRef: null, title: 'mine', body: 'offline edit', version: 1 };
    await cache.request('outboxEnqueue', {
      id: crypto.randomUUID(),
      idempotencyKey: crypto.randomUUID(),
      procedure: 'drafts.save',
      input: { id, kind: 'note', title: 'mine', body: 'offline edit' },
      entity: { kind: 'draft', id },
      baseVersion: 1,
      localChange: { type: 'put', record: { kind: 'draft', id, payload: { ...local, createdAt: 1, updatedAt: 2 } } },
    });
    const answers = await collect(
      readThrough(cache, { type: 'record', kind: 'draft', id }, () =>
        Promise.resolve({ payload: { ...local, body: 'server copy', version: 1, createdAt: 1, updatedAt: 1 } }),
      ),
    );
    expect(answers.at(-1)).toMatchObject({
      source: 'server',
      value: { hasLocalChanges: true, payload: { body: 'offline edit' } },
    });
  });
});
