/**
 * Acceptance for the desktop's local cache and outbox (capability F), end to
 * end with real parts only: a real MegiLance server (HTTP, tRPC, SQLite
 * under a data dir kept across restarts), a real account, the cache's
 * worker thread and file, and the tRPC client the desktop would use.
 *
 * 1. Online, the cache is filled through the API (profile from `auth.me`,
 *    the drafts list). The server stops. A fresh cache instance, reopened
 *    from disk, serves the same data (flagged stale: the server is down).
 * 2. Offline, edits are queued; the app quits. The server comes back on the
 *    same database; another device changes one draft meanwhile. The app
 *    starts again and replays, and crashes after the server applied the
 *    first write but before recording it. Started once more, it replays to
 *    the end: every write is applied exactly once (versions and bodies say
 *    so, the interrupted write included, thanks to its idempotency key), the
 *    draft changed elsewhere is a conflict carrying the server's version,
 *    and the writes after it on other drafts went through.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCUntypedClient, httpLink, type TRPCUntypedClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import pino from 'pino';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCache } from '../../electron/cache/local-cache.ts';
import { Outbox, type OutboxTransport } from '../../electron/cache/outbox.ts';
import { CacheError } from '../../electron/cache/protocol.ts';
import { readThrough, type ReadAnswer } from '../../electron/cache/read-through.ts';
import { cacheCollections, type CachePayload } from '../../electron/cache/kinds.ts';
import { parseConfig } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import type { Draft } from '../../shared/drafts.ts';
import { apiClient, CHROME_ON_LINUX, refusalOf } from '../support/api.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'megilance-offline-server-'));
const cacheDir = mkdtempSync(join(tmpdir(), 'megilance-offline-cache-'));
let server: RunningServer | null = null;
let port = 0;
let accessToken = '';
let accountId = '';

async function start(): Promise<RunningServer> {
  const config = parseConfig({
    NODE_ENV: 'test',
    MEGILANCE_PORT: String(port),
    MEGILANCE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    SHUTDOWN_GRACE_MS: '2000',
  });
  server = await startServer(config, { logger: pino({ level: 'silent' }) });
  port = Number(new URL(server.url).port);
  return server;
}

async function stop(): Promise<void> {
  await server?.stop('test: server goes away');
  server = null;
}

/** The origin the cache is keyed by: stable across restarts because the port is. */
const origin = () => `http://127.0.0.1:${port}`;
const api = () => apiClient(origin(), { accessToken });

/** The desktop's way to send queued writes: an untyped tRPC client (main cannot import the server's types). */
function transport(): OutboxTransport & { client: TRPCUntypedClient<AnyRouter> } {
  const client = createTRPCUntypedClient<AnyRouter>({
    links: [
      httpLink({
        url: `${origin()}/trpc`,
        transformer: superjson,
        headers: () => ({
          'x-megilance-client': 'desktop',
          'user-agent': CHROME_ON_LINUX,
          authorization: `Bearer ${accessToken}`,
        }),
      }),
    ],
  });
  return { client, mutate: (procedure, input) => client.mutation(procedure, input) };
}

const draftPayload = (draft: Draft): CachePayload<'draft'> => ({
  ...draft,
  createdAt: draft.createdAt.getTime(),
  updatedAt: draft.updatedAt.getTime(),
});

const openCache = () => LocalCache.open({ directory: cacheDir, serverOrigin: origin(), accountId });

function openOutbox(cache: LocalCache, send: OutboxTransport = transport()) {
  return Outbox.open({
    cache,
    transport: send,
    retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
    // What the server answered becomes the cached copy.
    serverRecord: (item, answer) =>
      item.procedure === 'drafts.save'
        ? { kind: 'draft', id: (answer as Draft).id, payload: draftPayload(answer as Draft) }
        : null,
  });
}

/** The profile, read through the cache from `auth.me`. */
function readProfile(cache: LocalCache) {
  return readThrough(cache, { type: 'record', kind: 'profile', id: 'me' }, async () => {
    const me = await api().auth.me.query();
    return { payload: { ...me, createdAt: me.createdAt.getTime() } };
  });
}

/** The drafts list, read through the cache from `drafts.list`. */
function readDrafts(cache: LocalCache) {
  return readThrough(cache, { type: 'collection', collection: cacheCollections.drafts(), limit: 50 }, async () => {
    const page = await api().drafts.list.query({ limit: 100 });
    return {
      range: page.nextCursor === null ? ('all' as const) : ('newest' as const),
      items: page.items.map((draft) => ({
        id: draft.id,
        payload: draftPayload(draft),
        serverUpdatedAt: draft.updatedAt.getTime(),
        sortKey: draft.updatedAt.getTime(),
      })),
    };
  });
}

async function all<T>(answers: AsyncGenerator<ReadAnswer<T>>): Promise<ReadAnswer<T>[]> {
  const out: ReadAnswer<T>[] = [];
  for await (const answer of answers) out.push(answer);
  return out;
}

/** Drafts a–d exist on the server from the start (version 1); e is created offline. */
const ids = { a: crypto.randomUUID(), b: crypto.randomUUID(), c: crypto.randomUUID(), d: crypto.randomUUID() };
const offlineDraft = crypto.randomUUID();

beforeAll(async () => {
  const running = await start();
  const email = `offline-${Date.now()}@example.com`;
  await apiClient(origin()).auth.signUp.mutate({ email, password: 'offline long password', displayName: 'Ada' });
  const [mail] = await running.deps.mailer.listOutbox({ limit: 1 });
  const code = /\b(\d{6})\b/.exec((await running.deps.mailer.readOutboxMessage(mail!.id)).text)![1]!;
  const tokens = await apiClient(origin()).auth.verifyEmail.mutate({ email, code });
  accessToken = tokens.accessToken;
  accountId = (await api().auth.me.query()).id;
  for (const [name, id] of Object.entries(ids)) {
    await api().drafts.save.mutate({ id, kind: 'note', title: `Draft ${name}`, body: 'count: 0', baseVersion: 0 });
  }
});

afterAll(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('offline reading', () => {
  let profileOnline: unknown;
  let draftsOnline: unknown;

  it('fills the cache from the running server', async () => {
    const cache = await openCache();
    const profile = await all(readProfile(cache));
    expect(profile.map((a) => a.source)).toEqual(['server']);
    profileOnline = profile[0]!.value!.payload;
    expect(profileOnline).toMatchObject({ id: accountId, displayName: 'Ada', emailVerified: true });

    const drafts = await all(readDrafts(cache));
    expect(drafts.map((a) => a.source)).toEqual(['server']);
    draftsOnline = drafts[0]!.value.items.map((item) => item.payload);
    expect(drafts[0]!.value.items.map((item) => item.id).sort()).toEqual(Object.values(ids).sort());
    await cache.close();
  });

  it('serves the same data from a cache reopened from disk while the server is down', async () => {
    await stop();
    const cache = await openCache();
    try {
      const profile = await all(readProfile(cache));
      expect(profile.map((a) => [a.source, a.stale])).toEqual([
        ['cache', false],
        ['cache', true],
      ]);
      expect(profile[1]!.failure?.type).toBe('unreachable');
      expect(profile[1]!.value!.payload).toEqual(profileOnline);

      const drafts = await all(readDrafts(cache));
      expect(drafts.at(-1)).toMatchObject({ source: 'cache', stale: true });
      expect(drafts.at(-1)!.value.items.map((item) => item.payload)).toEqual(draftsOnline);
    } finally {
      await cache.close();
    }
  });
});

describe('offline writing', () => {
  const queued: { id: string; draft: string }[] = [];

  it('queues writes while the server is down, on disk before the app quits', async () => {
    expect(server).toBeNull();
    const cache = await openCache();
    const outbox = await openOutbox(cache);
    const save = async (name: string, id: string, body: string, baseVersion: number) => {
      const input = { id, kind: 'note' as const, title: `Draft ${name}`, body };
      const item = await outbox.enqueue('drafts.save', input, {
        baseVersion,
        // The optimistic copy, written with the queued write: what the user sees offline.
        localChange: {
          type: 'put',
          record: {
            kind: 'draft',
            id,
            payload: { ...input, subjectRef: null, version: baseVersion + 1, createdAt: 0, updatedAt: Date.now() },
          },
          addTo: [{ collection: cacheCollections.drafts(), sortKey: Date.now() }],
        },
      });
      queued.push({ id: item.id, draft: name });
    };
    // Three edits of A, each on the one before: the server will see versions 1 → 2 → 3 → 4.
    await save('a', ids.a, 'count: 1', 1);
    // D is edited on another device before this one comes back: this edit will conflict.
    await save('d', ids.d, 'my offline edit of D', 1);
    await save('a', ids.a, 'count: 2', 2);
    await save('e', offlineDraft, 'count: 1', 0);
    await save('e', offlineDraft, 'count: 2', 1);
    const removal = await outbox.enqueue(
      'drafts.remove',
      { id: ids.b },
      { baseVersion: 1, localChange: { type: 'remove', ref: { kind: 'draft', id: ids.b } } },
    );
    queued.push({ id: removal.id, draft: 'b' });
    await save('a', ids.a, 'count: 3', 3);

    expect(outbox.state.waiting).toBe(7);
    // What the user sees offline already includes the queued edits.
    expect(await cache.getRecord('draft', ids.a)).toMatchObject({
      hasLocalChanges: true,
      payload: { body: 'count: 3' },
    });
    expect(await cache.getRecord('draft', ids.b)).toBeNull();
    await cache.close();
  });

  it('applies each queued write exactly once after a restart, even one interrupted between apply and record', async () => {
    await start();
    // Another device edits D while this one was away.
    const elsewhere = await api().drafts.save.mutate({
      id: ids.d,
      kind: 'note',
      title: 'Draft d',
      body: 'edited on the laptop',
      baseVersion: 1,
    });
    expect(elsewhere.version).toBe(2);

    // Restart 1: the first write reaches the server, then the app dies before the outbox records it.
    const cache = await openCache();
    const real = transport();
    let interruptedKey: unknown;
    const crashing: OutboxTransport = {
      async mutate(procedure, input) {
        const answer = await real.mutate(procedure, input);
        interruptedKey = input['idempotencyKey'];
        await cache.close();
        return answer;
      },
    };
    const dying = await openOutbox(cache, crashing);
    await expect(dying.replay()).rejects.toMatchObject({ code: 'CLOSED' });
    expect((await api().drafts.get.query({ id: ids.a })).body).toBe('count: 1');

    // The server has the write; a second copy without the key would be refused as a conflict...
    const again = { id: ids.a, kind: 'note' as const, title: 'Draft a', body: 'count: 1', baseVersion: 1 };
    expect(await refusalOf(api().drafts.save.mutate(again))).toBe('CONFLICT');

    // Restart 2: the outbox still has it, and resends it with the same key.
    const reopened = await openCache();
    const outbox = await openOutbox(reopened);
    const [first] = await outbox.list();
    expect(first).toMatchObject({ id: queued[0]!.id, idempotencyKey: interruptedKey, status: 'pending' });
    const report = await outbox.replay();
    expect(report).toMatchObject({ applied: 6, conflicts: 1, failed: 0, waiting: 0, held: null });

    // Exactly once: each version moved by one per queued write, and the bodies are the last ones.
    const a = await api().drafts.get.query({ id: ids.a });
    expect(a).toMatchObject({ body: 'count: 3', version: 4 });
    const e = await api().drafts.get.query({ id: offlineDraft });
    expect(e).toMatchObject({ body: 'count: 2', version: 2 });
    expect(await refusalOf(api().drafts.get.query({ id: ids.b }))).toBe('NOT_FOUND');
    expect(await api().drafts.get.query({ id: ids.c })).toMatchObject({ body: 'count: 0', version: 1 });

    // D: the conflict is surfaced with the server's version; D on the server is the laptop's.
    expect(outbox.state.conflicts).toHaveLength(1);
    expect(outbox.state.conflicts[0]).toMatchObject({
      entity: { kind: 'draft', id: ids.d },
      problem: { details: { currentVersion: 2, removed: false } },
    });
    expect(await api().drafts.get.query({ id: ids.d })).toMatchObject({ body: 'edited on the laptop', version: 2 });

    // The cache now holds the server's copies of what was sent.
    expect(await reopened.getRecord('draft', ids.a)).toMatchObject({
      hasLocalChanges: false,
      payload: { body: 'count: 3', version: 4 },
    });

    // The user keeps their version of D: it is resent on top of the laptop's.
    await outbox.keepMine(outbox.state.conflicts[0]!.id);
    expect(await outbox.replay()).toMatchObject({ applied: 1, conflicts: 0, waiting: 0 });
    expect(await api().drafts.get.query({ id: ids.d })).toMatchObject({ body: 'my offline edit of D', version: 3 });

    // Sign-out removes the cache: file, -wal and -shm.
    await reopened.destroy();
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('a closed cache refuses further work with a typed error', async () => {
    const cache = await openCache();
    await cache.close();
    await expect(cache.stats()).rejects.toBeInstanceOf(CacheError);
  });
});
