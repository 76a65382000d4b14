/**
 * The signed-in account's cache and outbox behind the IPC handlers, against
 * a real server: sign-in (credentials.save, then refresh) opens the cache of
 * that server + account, queued changes are sent by main's own tRPC client
 * with the access token main got, conflicts are resolved from the renderer's
 * side, Settings clears, and sign-out deletes the file. The keychain is the
 * in-memory one (credentials.test.ts proves the real one).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DesktopAppInfo, DesktopOutboxState } from '../shared/desktop-api.ts';
import { apiClient } from '../tests/support/api.ts';
import { cacheFileFor } from './cache/local-cache.ts';
import { createDesktopCredentials } from './credentials-sign-in.ts';
import { FakeKeychain, startAccountServer, type AccountServer } from './credentials-test-support.ts';
import { createIpcHandlers, type IpcInvokeEventLike } from './ipc.ts';
import { accessFromCredentials, OfflineData, OfflineDataUnavailableError, withOfflineData } from './offline-data.ts';
import type { DesktopCredentials } from './credentials-sign-in.ts';

let accounts: AccountServer;
beforeAll(async () => {
  accounts = await startAccountServer();
}, 60_000);
afterAll(async () => {
  await accounts.dispose();
});

const temporary: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const from = (url: string): IpcInvokeEventLike => ({ senderFrame: { url } });

function setUp(serverUrl = accounts.server.url) {
  const userData = mkdtempSync(join(tmpdir(), 'megilance-offline-'));
  temporary.push(userData);
  const directory = join(userData, 'cache');
  const log: string[] = [];
  const signIn: { credentials?: DesktopCredentials } = {};
  const offline = new OfflineData({
    directory,
    serverUrl,
    storageOrigin: serverUrl,
    retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    refreshAccess: accessFromCredentials(() => signIn.credentials!),
    log: (line) => log.push(line),
  });
  closers.push(() => offline.close());
  const credentials = withOfflineData(
    createDesktopCredentials({ serverUrl, store: new FakeKeychain(), preferencesDir: userData, log: () => {} }),
    offline,
  );
  signIn.credentials = credentials;
  const states: DesktopOutboxState[] = [];
  offline.onOutboxState((state) => states.push(state));
  const appInfo: DesktopAppInfo = {
    name: 'MegiLance',
    version: '0.1.0',
    platform: 'linux',
    serverUrl,
    serverMode: 'remote',
    electronVersion: '45.4.1',
    chromeVersion: '142.0.0.0',
  };
  const handlers = createIpcHandlers({
    appOrigin: serverUrl,
    appInfo,
    openExternal: () => Promise.resolve(),
    credentials,
    offline,
    notifications: { show: () => ({ shown: true }) },
    tray: { setUnreadCount: () => undefined },
    updates: { status: () => ({ state: 'off', reason: 'development' }) },
    screenPicker: { choose: () => ({ accepted: false }) },
  });
  return { handlers, offline, states, directory, log, page: from(`${serverUrl}/settings`) };
}

const draftId = () => crypto.randomUUID();
const draftPayload = (id: string, title: string, version: number) => ({
  id,
  kind: 'note',
  subjectRef: null,
  title,
  body: '',
  version,
  createdAt: 1,
  updatedAt: 1,
});

describe('offline data behind IPC, against a real server', () => {
  it('opens at sign-in, sends queued changes, resolves a conflict, clears, and is deleted at sign-out', async () => {
    const { handlers, states, directory, page } = setUp();
    const origin = accounts.server.url;

    // Nobody signed in: nothing to show, nothing can be queued.
    await expect(handlers.cache.stats(page)).resolves.toEqual({ open: false, reason: 'signed-out' });
    await expect(handlers.outbox.state(page)).resolves.toEqual({ available: false });
    await expect(
      handlers.outbox.enqueue(page, {
        procedure: 'drafts.save',
        input: { id: draftId(), kind: 'note', title: 'x', body: '' },
        baseVersion: 0,
      }),
    ).rejects.toThrow(OfflineDataUnavailableError);

    // Sign-in hands main the account: its cache opens (a file of this server + account).
    const { userId, tokens } = await accounts.signedUp();
    await handlers.credentials.save(page, { accountId: userId, refreshToken: tokens.refreshToken });
    await vi.waitFor(async () => expect(await handlers.cache.stats(page)).toMatchObject({ open: true, records: 0 }));
    const file = cacheFileFor({ directory, serverOrigin: origin, accountId: userId });
    expect(existsSync(file)).toBe(true);

    // A change queued right after sign-in: main has no access token yet, so it refreshes (rotating) and sends.
    const id = draftId();
    const queued = await handlers.outbox.enqueue(page, {
      procedure: 'drafts.save',
      input: { id, kind: 'note', title: 'Offer for Ada', body: 'Draft text' },
      baseVersion: 0,
      localChange: { type: 'put', record: { kind: 'draft', id, payload: draftPayload(id, 'Offer for Ada', 0) } },
    });
    expect(queued).toMatchObject({ procedure: 'drafts.save', status: 'pending', entity: { kind: 'draft', id } });
    await vi.waitFor(async () =>
      expect(await handlers.outbox.state(page)).toMatchObject({ waiting: 0, replaying: false }),
    );
    const me = await handlers.credentials.refresh(page);
    if (me.status !== 'signed-in') throw new Error(`not signed in: ${me.status}`);
    const api = apiClient(origin, { accessToken: me.accessToken });
    expect(await api.drafts.get.query({ id })).toMatchObject({ title: 'Offer for Ada', version: 1 });
    // The server's answer is now the cached copy.
    expect(await handlers.cache.getRecord(page, { kind: 'draft', id })).toMatchObject({
      payload: { title: 'Offer for Ada', version: 1 },
      hasLocalChanges: false,
    });
    // Every state change reached the subscribers (the preload's onOutboxState).
    expect(states.some((state) => state.available && state.waiting === 1)).toBe(true);
    expect(states.at(-1)).toMatchObject({ available: true, waiting: 0 });

    // Another device changes the draft; this one's change, based on version 1, conflicts.
    await api.drafts.save.mutate({ id, kind: 'note', title: 'Changed elsewhere', body: '', baseVersion: 1 });
    await handlers.outbox.enqueue(page, {
      procedure: 'drafts.save',
      input: { id, kind: 'note', title: 'Mine', body: 'My text' },
      baseVersion: 1,
    });
    await vi.waitFor(async () => {
      const state = await handlers.outbox.state(page);
      expect(state).toMatchObject({ available: true, waiting: 0 });
      if (state.available) expect(state.conflicts).toHaveLength(1);
    });
    const conflicted = await handlers.outbox.state(page);
    if (!conflicted.available) throw new Error('outbox closed');
    const conflict = conflicted.conflicts[0]!;
    expect(conflict.problem?.details).toMatchObject({ currentVersion: 2, removed: false });

    // Keep mine: sent again on top of the server's version.
    await handlers.outbox.keepMine(page, conflict.id);
    await vi.waitFor(async () =>
      expect(await handlers.outbox.state(page)).toMatchObject({ waiting: 0, conflicts: [], replaying: false }),
    );
    expect(await api.drafts.get.query({ id })).toMatchObject({ title: 'Mine', version: 3 });

    // The renderer fills and reads lists through the cache.
    await handlers.cache.writeCollection(page, {
      collection: { name: 'jobs:feed', kind: 'job' },
      items: [
        { id: 'j1', payload: { title: 'Logo' }, sortKey: -1 },
        { id: 'j2', payload: { title: 'Website' }, sortKey: -2 },
      ],
      range: 'all',
    });
    const feed = await handlers.cache.readCollection(page, {
      collection: { name: 'jobs:feed', kind: 'job' },
      limit: 10,
    });
    expect(feed?.items.map((item) => item.id)).toEqual(['j1', 'j2']);
    await expect(
      handlers.cache.putRecords(page, { records: [{ kind: 'draft', id: 'bad', payload: { not: 'a draft' } }] }),
    ).rejects.toThrow(/draft|INVALID|Invalid/);

    // Settings → Clear offline data.
    const stats = await handlers.cache.stats(page);
    expect(stats).toMatchObject({ open: true, recordsByKind: { draft: 1, job: 2 } });
    await expect(handlers.cache.clear(page, { includeOutbox: false })).resolves.toMatchObject({
      cleared: true,
      records: 3,
      outboxKept: 0,
    });
    await expect(handlers.cache.stats(page)).resolves.toMatchObject({ open: true, records: 0 });

    // Sign-out: the file and its WAL are gone, and the page hears the outbox is no more.
    await expect(handlers.credentials.forget(page)).resolves.toEqual({ forgotten: true });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}-wal`)).toBe(false);
    await expect(handlers.cache.stats(page)).resolves.toEqual({ open: false, reason: 'signed-out' });
    expect(states.at(-1)).toEqual({ available: false });
  });

  it('a session ended by the server closes the cache but keeps it (unsent changes too) for the same user', async () => {
    const { handlers, offline, directory, page } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    await handlers.credentials.save(page, { accountId: userId, refreshToken: tokens.refreshToken });
    await vi.waitFor(() => expect(offline.accountId).toBe(userId));
    await offline.sessionEnded();
    expect(offline.accountId).toBeNull();
    expect(existsSync(cacheFileFor({ directory, serverOrigin: accounts.server.url, accountId: userId }))).toBe(true);
    // The same user signs in again: the same file opens.
    await offline.signedIn(userId);
    expect(offline.accountId).toBe(userId);
  });

  it('another account gets its own file; switching closes the first', async () => {
    const { offline, directory } = setUp();
    await offline.signedIn('user-a');
    await offline.signedIn('user-b');
    expect(offline.accountId).toBe('user-b');
    for (const account of ['user-a', 'user-b']) {
      expect(existsSync(cacheFileFor({ directory, serverOrigin: accounts.server.url, accountId: account }))).toBe(true);
    }
    await offline.signedOut();
    // Only the signed-out account's file goes.
    expect(existsSync(cacheFileFor({ directory, serverOrigin: accounts.server.url, accountId: 'user-a' }))).toBe(true);
    expect(existsSync(cacheFileFor({ directory, serverOrigin: accounts.server.url, accountId: 'user-b' }))).toBe(false);
  });

  it('an unreachable server holds the queue and says why', async () => {
    const { offline } = setUp('http://127.0.0.1:9');
    const token = { accessToken: 'mla_test', accessExpiresAt: new Date(Date.now() + 600_000) };
    await offline.signedIn('user-offline', token);
    await offline.enqueue({ procedure: 'drafts.remove', input: { id: draftId() } });
    await vi.waitFor(async () =>
      expect(await offline.outboxState()).toMatchObject({
        waiting: 1,
        replaying: false,
        held: { reason: 'unreachable', retryAt: null },
      }),
    );
  });

  it("opens the stored account's data for reading when the server cannot be reached at launch", async () => {
    const { offline } = setUp();
    // Last time, online: something was kept.
    await offline.signedIn('user-away');
    const ada = { id: 'user-away', email: 'ada@example.com', displayName: 'Ada', emailVerified: true, createdAt: 1 };
    await offline.putRecords({ records: [{ kind: 'profile', id: 'me', payload: ada }] });
    await offline.sessionEnded();
    expect(offline.accountId).toBeNull();
    // This launch: the keychain holds Ada's sign-in, but the server does not answer.
    const unreachable: DesktopCredentials = {
      status: () => Promise.resolve({ mode: 'keychain', available: true }),
      save: () => Promise.reject(new Error('not used')),
      refresh: () =>
        Promise.resolve({
          status: 'server-unavailable',
          message: 'Could not reach the server.',
          accountId: 'user-away',
        }),
      forget: () => Promise.resolve({ forgotten: true }),
      chooseMode: () => Promise.resolve({ mode: 'keychain', available: true }),
    };
    const result = await withOfflineData(unreachable, offline).refresh();
    expect(result.status).toBe('server-unavailable');
    await vi.waitFor(() => expect(offline.accountId).toBe('user-away'));
    expect((await offline.getRecord({ kind: 'profile', id: 'me' }))?.payload).toEqual(ada);
    // Writes made meanwhile wait for the server.
    await offline.enqueue({ procedure: 'drafts.remove', input: { id: draftId() } });
    expect(await offline.outboxState()).toMatchObject({ waiting: 1 });
  });

  it('a cache file that is not a database is started over, and the reason is logged', async () => {
    const { offline, directory, log } = setUp();
    const file = cacheFileFor({ directory, serverOrigin: accounts.server.url, accountId: 'user-corrupt' });
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(directory, { recursive: true });
    writeFileSync(file, 'this is not a SQLite database, just text that is long enough to look like a header');
    await offline.signedIn('user-corrupt');
    expect(offline.accountId).toBe('user-corrupt');
    expect(log.some((line) => line.includes('starting the cache over'))).toBe(true);
  });
});
