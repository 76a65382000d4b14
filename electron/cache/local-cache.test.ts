/**
 * The local cache with its real worker thread and real SQLite files in a
 * temporary folder: opening and migrating, one file per server and account,
 * records and ordered lists, clearing and destroying, the slow-query log,
 * and failures arriving as typed CacheErrors.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cacheFileFor, LocalCache, removeCacheFiles, type LocalCacheOptions } from './local-cache.ts';
import { CacheError } from './protocol.ts';
import { cacheCollections } from './kinds.ts';

const root = mkdtempSync(join(tmpdir(), 'megilance-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SERVER = 'https://megilance.example.com';
const opened: LocalCache[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((cache) => cache.close()));
});

function freshDir(): string {
  return mkdtempSync(join(root, 'dir-'));
}

async function open(options: Partial<LocalCacheOptions> & { directory: string }): Promise<LocalCache> {
  const cache = await LocalCache.open({ serverOrigin: SERVER, accountId: 'user-ada', slowQueryMs: 10_000, ...options });
  opened.push(cache);
  return cache;
}

async function refusal(promise: Promise<unknown>): Promise<CacheError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CacheError) return error;
    throw error;
  }
  throw new Error('expected a CacheError');
}

const message = (n: number, thread = 't1') => ({
  id: `m${String(n).padStart(4, '0')}`,
  payload: { threadId: thread, body: `message ${n}`, sentAt: 1_000 + n },
  sortKey: 1_000 + n,
});

describe('opening', () => {
  it('creates a WAL database named by server and account, migrated once', async () => {
    const directory = freshDir();
    const cache = await open({ directory });
    expect(cache.file).toBe(cacheFileFor({ directory, serverOrigin: SERVER, accountId: 'user-ada' }));
    expect(cache.file).toMatch(/[0-9a-f]{32}\.sqlite$/);
    expect(cache.migrated).toEqual([1]);
    expect(cache.schemaVersion).toBe(1);
    // WAL: while open, the writer's log sits beside the file.
    await cache.putRecords([{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }]);
    expect(existsSync(`${cache.file}-wal`)).toBe(true);
    await cache.close();

    const bare = new BetterSqlite3(cache.file, { readonly: true });
    expect(bare.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(bare.pragma('user_version', { simple: true })).toBe(1);
    bare.close();

    const again = await open({ directory });
    expect(again.migrated).toEqual([]);
    expect(await again.getRecord('job', 'j1')).toMatchObject({ payload: { title: 'Logo' } });
  });

  it('keeps each server and account in its own file', async () => {
    const directory = freshDir();
    const ada = await open({ directory });
    const grace = await open({ directory, accountId: 'user-grace' });
    const adaElsewhere = await open({ directory, serverOrigin: 'https://other.example.org' });
    expect(new Set([ada.file, grace.file, adaElsewhere.file]).size).toBe(3);
    await ada.putRecords([{ kind: 'job', id: 'j1', payload: { title: "Ada's" } }]);
    expect(await grace.getRecord('job', 'j1')).toBeNull();
    expect(await adaElsewhere.getRecord('job', 'j1')).toBeNull();
    // The origin is normalised: the same server spelled differently is the same cache.
    expect(cacheFileFor({ directory, serverOrigin: 'HTTPS://MegiLance.example.com:443', accountId: 'user-ada' })).toBe(
      ada.file,
    );
  });

  it("refuses a file that belongs to another account, even under this one's name", async () => {
    const directory = freshDir();
    const grace = await open({ directory, accountId: 'user-grace' });
    await grace.close();
    copyFileSync(grace.file, cacheFileFor({ directory, serverOrigin: SERVER, accountId: 'user-ada' }));
    expect((await refusal(open({ directory }))).code).toBe('IDENTITY_MISMATCH');
  });

  it('refuses a file from a newer app version, and a file that is not a database', async () => {
    const directory = freshDir();
    const cache = await open({ directory });
    await cache.close();
    const bare = new BetterSqlite3(cache.file);
    bare.pragma('user_version = 99');
    bare.close();
    expect((await refusal(open({ directory }))).code).toBe('NEWER_SCHEMA');

    const other = freshDir();
    writeFileSync(
      cacheFileFor({ directory: other, serverOrigin: SERVER, accountId: 'user-ada' }),
      'not sqlite'.repeat(500),
    );
    const failure = await refusal(open({ directory: other }));
    expect(failure).toMatchObject({ code: 'OPEN_FAILED', sqliteCode: 'SQLITE_NOTADB' });
  });

  it('drops the records of a kind whose payload version changed', async () => {
    const directory = freshDir();
    const cache = await open({ directory });
    await cache.putRecords([
      { kind: 'job', id: 'j1', payload: { title: 'old shape' } },
      { kind: 'call', id: 'c1', payload: { minutes: 3 } },
    ]);
    await cache.writeCollection(cacheCollections.jobsFeed(), [{ id: 'j1', payload: { title: 'old' }, sortKey: 1 }], {
      range: 'all',
    });
    await cache.close();
    const bare = new BetterSqlite3(cache.file);
    bare.prepare("update meta set value = '0' where key = 'kind_version:job'").run();
    bare.close();

    const reopened = await open({ directory });
    expect(reopened.droppedKinds).toEqual(['job']);
    expect(await reopened.getRecord('job', 'j1')).toBeNull();
    expect((await reopened.readCollection(cacheCollections.jobsFeed(), { limit: 10 })).fetchedAt).toBeNull();
    expect(await reopened.getRecord('call', 'c1')).not.toBeNull();
  });
});

describe('records and lists', () => {
  it('round-trips records of any kind and refuses a payload that does not fit its kind', async () => {
    const cache = await open({ directory: freshDir() });
    const profile = { id: 'u1', email: 'ada@example.com', displayName: 'Ada', emailVerified: true, createdAt: 5 };
    await cache.putRecords([{ kind: 'profile', id: 'me', payload: profile, serverUpdatedAt: 7 }]);
    const stored = await cache.getRecord('profile', 'me');
    expect(stored).toEqual({
      kind: 'profile',
      id: 'me',
      payload: profile,
      serverUpdatedAt: 7,
      fetchedAt: stored?.fetchedAt,
      hasLocalChanges: false,
    });
    expect(stored?.fetchedAt).toBeGreaterThan(0);
    const failure = await refusal(
      cache.putRecords([{ kind: 'profile', id: 'me', payload: { ...profile, createdAt: 'yesterday' } as never }]),
    );
    expect(failure.code).toBe('INVALID_REQUEST');
    expect(failure.message).toMatch(/profile payload/);
    // The refused batch changed nothing.
    expect((await cache.getRecord('profile', 'me'))?.payload).toEqual(profile);
    expect(await cache.deleteRecords([{ kind: 'profile', id: 'me' }])).toEqual({ deleted: 1 });
    expect(await cache.getRecord('profile', 'me')).toBeNull();
  });

  it("reads a thread's newest messages a page at a time", async () => {
    const cache = await open({ directory: freshDir() });
    const thread = cacheCollections.threadMessages('t1');
    await cache.writeCollection(
      thread,
      Array.from({ length: 120 }, (_, i) => message(i)),
      { range: 'all' },
    );
    await cache.writeCollection(cacheCollections.threadMessages('t2'), [message(500, 't2')], { range: 'all' });
    const first = await cache.readCollection(thread, { limit: 50 });
    expect(first.items).toHaveLength(50);
    expect(first.items[0]).toMatchObject({ id: 'm0119', sortKey: 1_119, payload: { body: 'message 119' } });
    expect(first.complete).toBe(true);
    const second = await cache.readCollection(thread, { limit: 50, before: first.nextCursor! });
    expect(second.items[0]?.id).toBe('m0069');
    const third = await cache.readCollection(thread, { limit: 50, before: second.nextCursor! });
    expect(third.items.map((m) => m.id).at(-1)).toBe('m0000');
    expect(third.items).toHaveLength(20);
    expect(third.nextCursor).toBeNull();
  });

  it('refreshes a list: all replaces it, newest replaces its range, older adds', async () => {
    const cache = await open({ directory: freshDir() });
    const thread = cacheCollections.threadMessages('t1');
    await cache.writeCollection(
      thread,
      [1, 2, 3, 4, 5].map((n) => message(n)),
      { range: 'all' },
    );
    // The newest page now: 5 was deleted on the server, 6 is new; 1–2 are older than the page and stay.
    const newest = await cache.writeCollection(
      thread,
      [6, 4, 3].map((n) => message(n)),
      {
        range: 'newest',
        readBack: 10,
      },
    );
    expect(newest).toMatchObject({ written: 3, removed: 1 });
    expect(newest.page?.items.map((m) => m.id)).toEqual(['m0006', 'm0004', 'm0003', 'm0002', 'm0001']);
    await cache.writeCollection(thread, [message(0)], { range: 'older', complete: true });
    const all = await cache.readCollection(thread, { limit: 10 });
    expect(all.items.map((m) => m.id)).toEqual(['m0006', 'm0004', 'm0003', 'm0002', 'm0001', 'm0000']);
    expect(all.complete).toBe(true);
    await cache.writeCollection(thread, [message(9)], { range: 'all' });
    expect((await cache.readCollection(thread, { limit: 10 })).items.map((m) => m.id)).toEqual(['m0009']);
    expect((await refusal(cache.readCollection({ name: thread.name, kind: 'job' }, { limit: 1 }))).code).toBe(
      'INVALID_REQUEST',
    );
  });
});

describe('clear and destroy', () => {
  it('clear empties records and lists, keeps unsent writes with their records, and shrinks the file', async () => {
    const cache = await open({ directory: freshDir() });
    const big = 'x'.repeat(2_000);
    await cache.writeCollection(
      cacheCollections.jobsFeed(),
      Array.from({ length: 500 }, (_, i) => ({ id: `j${i}`, payload: { title: big }, sortKey: i })),
      { range: 'all' },
    );
    const draftId = crypto.randomUUID();
    const draft = {
      id: draftId,
      kind: 'note' as const,
      subjectRef: null,
      title: 'unsent',
      body: 'work in progress',
      version: 0,
      createdAt: 1,
      updatedAt: 1,
    };
    await cache.request('outboxEnqueue', {
      id: crypto.randomUUID(),
      idempotencyKey: crypto.randomUUID(),
      procedure: 'drafts.save',
      input: { id: draftId, kind: 'note', title: 'unsent', body: 'work in progress' },
      entity: { kind: 'draft', id: draftId },
      baseVersion: 0,
      localChange: { type: 'put', record: { kind: 'draft', id: draftId, payload: draft } },
    });
    const before = (await cache.stats()).bytes;
    expect(await cache.clear()).toEqual({ records: 500, outboxKept: 1 });
    const stats = await cache.stats();
    expect(stats.records).toEqual({ draft: 1 });
    expect(stats.collections).toBe(0);
    expect(stats.bytes).toBeLessThan(before / 10);
    expect(statSync(cache.file).size).toBeLessThan(before / 10);
    expect(await cache.getRecord('draft', draftId)).toMatchObject({ hasLocalChanges: true });

    expect(await cache.clear({ includeOutbox: true })).toEqual({ records: 1, outboxKept: 0 });
    expect((await cache.stats()).outbox).toEqual({ pending: 0, conflict: 0, failed: 0 });
  });

  it('destroy closes the cache and removes the file with its -wal and -shm', async () => {
    const directory = freshDir();
    const cache = await open({ directory });
    await cache.putRecords([{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }]);
    expect(existsSync(`${cache.file}-wal`)).toBe(true);
    expect(existsSync(`${cache.file}-shm`)).toBe(true);
    await cache.destroy();
    expect(readdirSync(directory)).toEqual([]);
    expect((await refusal(cache.getRecord('job', 'j1'))).code).toBe('CLOSED');

    // Sign-out of an account whose cache is not open: the files go all the same.
    const closed = await open({ directory, accountId: 'user-grace' });
    await closed.putRecords([{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }]);
    await closed.close();
    expect(readdirSync(directory)).not.toEqual([]);
    removeCacheFiles({ directory, serverOrigin: SERVER, accountId: 'user-grace' });
    expect(readdirSync(directory)).toEqual([]);
  });
});

describe('slow-query log', () => {
  it('logs statements over the threshold with their SQL shape and time, never their values', async () => {
    const logged: { details: Record<string, unknown>; message: string }[] = [];
    const cache = await open({
      directory: freshDir(),
      slowQueryMs: 0,
      logger: { warn: (details, message) => logged.push({ details, message }) },
    });
    await cache.putRecords([{ kind: 'message', id: 'secret-id-42', payload: { body: 'SECRET BODY TEXT' } }]);
    await cache.getRecord('message', 'secret-id-42');
    // Messages from the worker arrive asynchronously; the answer came after them.
    const slow = logged.filter((entry) => entry.message === 'slow query');
    expect(slow.some((entry) => /insert into records/.test(String(entry.details['sql'])))).toBe(true);
    expect(slow.some((entry) => entry.details['sql'] === 'request getRecord')).toBe(true);
    expect(slow.every((entry) => typeof entry.details['ms'] === 'number')).toBe(true);
    const text = JSON.stringify(logged);
    expect(text).not.toContain('SECRET BODY TEXT');
    expect(text).not.toContain('secret-id-42');
  });

  it('stays quiet under the threshold', async () => {
    const logged: unknown[] = [];
    const cache = await open({ directory: freshDir(), slowQueryMs: 5_000, logger: { warn: (d) => logged.push(d) } });
    await cache.putRecords([{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }]);
    await cache.getRecord('job', 'j1');
    expect(logged).toEqual([]);
  });
});

describe('failures are typed', () => {
  it('refuses a malformed request in the worker, and the cache stays usable', async () => {
    const cache = await open({ directory: freshDir() });
    const failure = await refusal(cache.request('getRecord', { ref: { kind: 'spaceship', id: '' } } as never));
    expect(failure).toBeInstanceOf(CacheError);
    expect(failure.code).toBe('INVALID_REQUEST');
    expect(await cache.getRecord('job', 'none')).toBeNull();
  });

  it('fails requests in flight with WORKER_EXITED when the worker dies, then every later one', async () => {
    // A worker that dies on its first readCollection, before the real handler sees it.
    const dir = freshDir();
    const dying = join(dir, 'dying-worker.ts');
    writeFileSync(
      dying,
      `import { parentPort } from 'node:worker_threads';
       parentPort.on('message', (m) => { if (m?.op === 'readCollection') process.exit(7); });
       await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'worker.ts')).href)});`,
    );
    const cache = await LocalCache.open({
      directory: dir,
      serverOrigin: SERVER,
      accountId: 'user-ada',
      workerUrl: pathToFileURL(dying),
    });
    await cache.putRecords([{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }]);
    const failure = await refusal(cache.readCollection(cacheCollections.jobsFeed(), { limit: 5 }));
    expect(failure.code).toBe('WORKER_EXITED');
    expect(failure.message).toMatch(/code 7/);
    expect((await refusal(cache.getRecord('job', 'j1'))).code).toBe('WORKER_EXITED');
    expect(cache.isOpen).toBe(false);
    await cache.close();
  });

  it('refuses requests after close with CLOSED, and a bad origin before opening anything', async () => {
    const cache = await open({ directory: freshDir() });
    const inFlight = cache.getRecord('job', 'j1');
    await cache.close();
    expect(await inFlight).toBeNull();
    expect((await refusal(cache.stats())).code).toBe('CLOSED');
    expect((await refusal(open({ directory: freshDir(), serverOrigin: 'ftp://example.com' }))).code).toBe(
      'INVALID_REQUEST',
    );
  });
});
