import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { desktopIpcArgs, type DesktopAppInfo } from '../shared/desktop-api.ts';
import { apiClient, refusalOf } from '../tests/support/api.ts';
import { createDesktopCredentials } from './credentials-sign-in.ts';
import { FakeKeychain, startAccountServer, type AccountServer } from './credentials-test-support.ts';
import { ipcChannel } from './ipc-channels.ts';
import {
  createIpcHandlers,
  DesktopIpcError,
  registerIpcHandlers,
  type IpcInvokeEventLike,
  type IpcMainLike,
} from './ipc.ts';

const APP = 'http://127.0.0.1:41234';

const appInfo: DesktopAppInfo = {
  name: 'MegiLance',
  version: '0.1.0',
  platform: 'linux',
  serverUrl: APP,
  serverMode: 'embedded',
  electronVersion: '45.4.1',
  chromeVersion: '142.0.0.0',
};

/** An IpcMainInvokeEvent as far as the handlers look at it: the sending frame's URL. */
const from = (url: string | null): IpcInvokeEventLike => ({ senderFrame: url === null ? null : { url } });

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setUp(appOrigin = APP, serverUrl = appOrigin.startsWith('http') ? appOrigin : APP) {
  const openExternal = vi.fn((_url: string) => Promise.resolve());
  const keychain = new FakeKeychain();
  const userData = mkdtempSync(join(tmpdir(), 'megilance-ipc-'));
  temporary.push(userData);
  // Nothing listens on port 9: a refresh that got through would answer server-unavailable, not throw.
  const fetch = vi.fn(globalThis.fetch);
  const credentials = createDesktopCredentials({
    serverUrl,
    store: keychain,
    preferencesDir: userData,
    fetch,
  });
  const desktop = fakeDesktop();
  const handlers = createIpcHandlers({ appOrigin, appInfo, openExternal, credentials, ...desktop.deps });
  return { handlers, openExternal, keychain, userData, fetch, desktop };
}

/**
 * Stand-ins for the offline data, notifications, tray and updates: each
 * method a spy, so a test can see that a refused call reached none of them.
 * (offline-data.test.ts runs the real ones behind these handlers.)
 */
function fakeDesktop() {
  const item = { id: ITEM, status: 'pending' };
  const offline = {
    stats: vi.fn(() => Promise.resolve({ open: false as const, reason: 'signed-out' as const })),
    clear: vi.fn(() => Promise.resolve({ cleared: false as const, reason: 'signed-out' as const })),
    getRecord: vi.fn(() => Promise.resolve(null)),
    readCollection: vi.fn(() => Promise.resolve(null)),
    putRecords: vi.fn(() => Promise.resolve(null)),
    writeCollection: vi.fn(() => Promise.resolve(null)),
    outboxState: vi.fn(() => Promise.resolve({ available: false as const })),
    enqueue: vi.fn(() => Promise.resolve(item as never)),
    replay: vi.fn(() => Promise.resolve(null)),
    keepMine: vi.fn(() => Promise.resolve(item as never)),
    takeTheirs: vi.fn(() => Promise.resolve([ITEM])),
    retryFailed: vi.fn(() => Promise.resolve(item as never)),
    discard: vi.fn(() => Promise.resolve([ITEM])),
  };
  const notifications = { show: vi.fn(() => ({ shown: true as const })) };
  const tray = { setUnreadCount: vi.fn() };
  const updates = { status: vi.fn(() => ({ state: 'off' as const, reason: 'development' as const })) };
  const screenPicker = { choose: vi.fn(() => ({ accepted: true })) };
  const spies = [
    ...Object.values(offline),
    notifications.show,
    tray.setUnreadCount,
    updates.status,
    screenPicker.choose,
  ];
  return {
    deps: { offline, notifications, tray, updates, screenPicker },
    offline,
    notifications,
    tray,
    updates,
    screenPicker,
    spies,
  };
}

const TOKEN = 'mlr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const USER = '0b7c4a52-5d1e-4a4e-9d3c-2f6f5f6b7a11';
const ITEM = '6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21';
const DRAFT = { id: ITEM, kind: 'note', title: 'Offer', body: 'Hello' };
const NOTE = { title: 'New message', body: 'Ada: are you free?', kind: 'message', route: `/messages/${ITEM}` };

/** Every handler with arguments that are valid for it, so each can be tried from a foreign sender. */
const validCalls = [
  ['app.getInfo', []],
  ['links.openExternal', ['https://example.com/']],
  ['credentials.status', []],
  ['credentials.save', [{ accountId: USER, refreshToken: TOKEN }]],
  ['credentials.refresh', []],
  ['credentials.forget', []],
  ['credentials.chooseMode', ['session-only']],
  ['cache.stats', []],
  ['cache.clear', [{ includeOutbox: false }]],
  ['cache.getRecord', [{ kind: 'draft', id: ITEM }]],
  ['cache.readCollection', [{ collection: { name: 'drafts', kind: 'draft' }, limit: 50 }]],
  ['cache.putRecords', [{ records: [{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }] }]],
  [
    'cache.writeCollection',
    [{ collection: { name: 'jobs:feed', kind: 'job' }, items: [{ id: 'j1', payload: {}, sortKey: -1 }], range: 'all' }],
  ],
  ['outbox.state', []],
  ['outbox.enqueue', [{ procedure: 'drafts.save', input: DRAFT, baseVersion: 0 }]],
  ['outbox.replay', []],
  ['outbox.keepMine', [ITEM]],
  ['outbox.takeTheirs', [ITEM]],
  ['outbox.retryFailed', [ITEM]],
  ['outbox.discard', [ITEM]],
  ['notifications.show', [NOTE]],
  ['tray.setUnreadCount', [3]],
  ['updates.status', []],
  ['screenPicker.choose', [{ requestId: ITEM, sourceId: 'screen:0:0' }]],
] as const;

function handlerOf(handlers: ReturnType<typeof setUp>['handlers'], name: string) {
  const [namespace, method] = name.split('.') as [string, string];
  const handler = (
    handlers as unknown as Record<string, Record<string, (e: IpcInvokeEventLike, ...a: unknown[]) => Promise<unknown>>>
  )[namespace]?.[method];
  if (handler === undefined) throw new Error(`no handler ${name}`);
  return handler;
}

describe('IPC handlers', () => {
  it('cover every method the shared contract declares', () => {
    const { handlers } = setUp();
    const declared = Object.entries(desktopIpcArgs).flatMap(([ns, methods]) =>
      Object.keys(methods).map((m) => `${ns}.${m}`),
    );
    const handled = Object.entries(handlers).flatMap(([ns, methods]) => Object.keys(methods).map((m) => `${ns}.${m}`));
    expect(handled.sort()).toEqual(declared.sort());
    expect(validCalls.map(([name]) => name).sort()).toEqual(declared.sort());
  });

  it('app.getInfo answers the app', async () => {
    const { handlers } = setUp();
    await expect(handlers.app.getInfo(from(`${APP}/settings/about`))).resolves.toEqual(appInfo);
  });

  it('links.openExternal opens a checked https link', async () => {
    const { handlers, openExternal } = setUp();
    await handlers.links.openExternal(from(`${APP}/jobs/1`), 'https://example.com/contract.pdf');
    expect(openExternal).toHaveBeenCalledExactlyOnceWith('https://example.com/contract.pdf');
  });

  it('links.openExternal refuses links that are not plain https', async () => {
    const { handlers, openExternal } = setUp();
    await expect(handlers.links.openExternal(from(APP), 'file:///etc/passwd')).rejects.toThrow(/only https: links/);
    await expect(handlers.links.openExternal(from(APP), 'https://u:p@example.com/')).rejects.toThrow(
      /user name or password/,
    );
    expect(openExternal).not.toHaveBeenCalled();
  });

  describe.each(validCalls)('%s', (name, args) => {
    it.each([
      ['a foreign origin', 'https://evil.example/'],
      ['another local port', 'http://127.0.0.1:41235/'],
      ['a file: page', 'file:///tmp/x.html'],
      ['an about:blank frame', 'about:blank'],
      ['a destroyed frame', null],
    ])('refuses a sender from %s', async (_what, url) => {
      const { handlers, openExternal, keychain, userData, fetch, desktop } = setUp();
      const call = handlerOf(handlers, name)(from(url), ...args);
      await expect(call).rejects.toThrow(DesktopIpcError);
      await expect(call).rejects.toMatchObject({
        code: 'FOREIGN_SENDER',
        message: expect.stringContaining(name) as string,
      });
      expect(openExternal).not.toHaveBeenCalled();
      // Nothing was read, stored, chosen or sent.
      expect(keychain.calls).toEqual([]);
      expect(fetch).not.toHaveBeenCalled();
      expect(() => readFileSync(join(userData, 'credentials.json'))).toThrow(/ENOENT/);
      // No cache, outbox, notification, tray or update code ran.
      for (const spy of desktop.spies) expect(spy).not.toHaveBeenCalled();
    });
  });

  it('accepts the app:// origin when the app is served from there, and refuses the server then', async () => {
    const { handlers, desktop } = setUp('app://megilance');
    await expect(handlers.tray.setUnreadCount(from('app://megilance/messages'), 5)).resolves.toBeUndefined();
    expect(desktop.tray.setUnreadCount).toHaveBeenCalledExactlyOnceWith(5);
    for (const url of [`${APP}/`, 'app://megilance.evil/', 'app://evil/', 'app://user@megilance/']) {
      await expect(handlers.tray.setUnreadCount(from(url), 1)).rejects.toMatchObject({ code: 'FOREIGN_SENDER' });
    }
    expect(desktop.tray.setUnreadCount).toHaveBeenCalledOnce();
  });

  it('each new handler passes its parsed arguments on', async () => {
    const { handlers, desktop } = setUp();
    const page = from(`${APP}/settings`);
    await handlers.cache.clear(page, { includeOutbox: true });
    expect(desktop.offline.clear).toHaveBeenCalledWith({ includeOutbox: true });
    await handlers.outbox.enqueue(page, { procedure: 'drafts.save', input: DRAFT, baseVersion: 2 });
    // zod filled the schema's defaults in: what main gets is the parsed input.
    expect(desktop.offline.enqueue).toHaveBeenCalledWith({
      procedure: 'drafts.save',
      input: { ...DRAFT, subjectRef: null },
      baseVersion: 2,
    });
    await handlers.outbox.takeTheirs(page, ITEM);
    expect(desktop.offline.takeTheirs).toHaveBeenCalledWith(ITEM);
    await expect(handlers.notifications.show(page, NOTE)).resolves.toEqual({ shown: true });
    expect(desktop.notifications.show).toHaveBeenCalledWith(NOTE);
    await expect(handlers.updates.status(page)).resolves.toEqual({ state: 'off', reason: 'development' });
  });

  it.each([
    ['app.getInfo', ['extra']],
    ['app.getInfo', [undefined]],
    ['links.openExternal', []],
    ['links.openExternal', [42]],
    ['links.openExternal', [{ url: 'https://example.com/' }]],
    ['links.openExternal', ['']],
    ['links.openExternal', ['https://example.com/', 'extra']],
    ['links.openExternal', [`https://example.com/${'a'.repeat(3000)}`]],
    ['credentials.status', ['extra']],
    ['credentials.save', []],
    ['credentials.save', [TOKEN]],
    ['credentials.save', [{ refreshToken: TOKEN }]],
    ['credentials.save', [{ accountId: USER }]],
    ['credentials.save', [{ accountId: USER, refreshToken: TOKEN, origin: 'https://evil.example' }]],
    ['credentials.save', [{ accountId: '../../etc/passwd', refreshToken: TOKEN }]],
    ['credentials.save', [{ accountId: 'a'.repeat(65), refreshToken: TOKEN }]],
    ['credentials.save', [{ accountId: USER, refreshToken: '' }]],
    ['credentials.save', [{ accountId: USER, refreshToken: `${TOKEN} ${TOKEN}` }]],
    ['credentials.save', [{ accountId: USER, refreshToken: `mlr_${'A'.repeat(300)}` }]],
    ['credentials.save', [{ accountId: USER, refreshToken: 42 }]],
    ['credentials.save', [{ accountId: USER, refreshToken: TOKEN }, 'extra']],
    ['credentials.refresh', [{ refreshToken: TOKEN }]],
    ['credentials.forget', ['everything']],
    ['credentials.chooseMode', []],
    ['credentials.chooseMode', ['plaintext-file']],
    ['credentials.chooseMode', [{ mode: 'keychain' }]],
    ['credentials.chooseMode', ['keychain', 'extra']],
    ['cache.stats', [{}]],
    ['cache.clear', []],
    ['cache.clear', [{}]],
    ['cache.clear', [{ includeOutbox: 'yes' }]],
    ['cache.clear', [{ includeOutbox: true, file: '/etc/passwd' }]],
    ['cache.getRecord', [{ kind: 'secrets', id: 'x' }]],
    ['cache.getRecord', [{ kind: 'draft', id: '' }]],
    ['cache.getRecord', [{ kind: 'draft', id: 'x'.repeat(257) }]],
    ['cache.readCollection', [{ collection: { name: 'drafts', kind: 'draft' }, limit: 0 }]],
    ['cache.readCollection', [{ collection: { name: 'drafts', kind: 'draft' }, limit: 5000 }]],
    ['cache.readCollection', [{ collection: { name: '../x', kind: 'draft' }, limit: 5 }]],
    ['cache.readCollection', [{ collection: { name: "x'; DROP TABLE records; --", kind: 'draft' }, limit: 5 }]],
    ['cache.putRecords', [{ records: 'all' }]],
    ['cache.putRecords', [{ records: [{ kind: 'job', id: 'j1', payload: 'text' }] }]],
    ['cache.putRecords', [{ records: [{ kind: 'job', id: 'j1', payload: { at: new Date(0) } }] }]],
    ['cache.putRecords', [{ records: [{ kind: 'job', id: 'j1', payload: {}, serverUpdatedAt: -1 }] }]],
    [
      'cache.putRecords',
      [{ records: Array.from({ length: 1001 }, (_, i) => ({ kind: 'job', id: `j${i}`, payload: {} })) }],
    ],
    ['cache.putRecords', [{ records: [{ kind: 'job', id: 'j1', payload: { text: 'x'.repeat(8_000_001) } }] }]],
    ['cache.writeCollection', [{ collection: { name: 'drafts', kind: 'draft' }, items: [], range: 'everything' }]],
    ['cache.writeCollection', [{ collection: { name: 'drafts', kind: 'draft' }, items: [{ id: 'd' }], range: 'all' }]],
    ['outbox.state', ['now']],
    ['outbox.enqueue', []],
    ['outbox.enqueue', [{ procedure: 'auth.deleteAccount', input: {}, baseVersion: 0 }]],
    ['outbox.enqueue', [{ procedure: 'drafts.save', input: DRAFT }]],
    ['outbox.enqueue', [{ procedure: 'drafts.save', input: { ...DRAFT, id: 'not-a-uuid' }, baseVersion: 0 }]],
    ['outbox.enqueue', [{ procedure: 'drafts.save', input: { ...DRAFT, kind: 'contract' }, baseVersion: 0 }]],
    ['outbox.enqueue', [{ procedure: 'drafts.save', input: { ...DRAFT, body: 'x'.repeat(100_001) }, baseVersion: 0 }]],
    [
      'outbox.enqueue',
      [{ procedure: 'drafts.save', input: { ...DRAFT, idempotencyKey: 'k'.repeat(20) }, baseVersion: 0 }],
    ],
    ['outbox.enqueue', [{ procedure: 'drafts.save', input: DRAFT, baseVersion: -1 }]],
    [
      'outbox.enqueue',
      [{ procedure: 'drafts.remove', input: { id: ITEM }, baseVersion: 0, url: 'https://evil.example' }],
    ],
    ['outbox.replay', [true]],
    ['outbox.keepMine', []],
    ['outbox.keepMine', ['1']],
    ['outbox.takeTheirs', [{ id: ITEM }]],
    ['outbox.retryFailed', [`${ITEM}' OR 1=1`]],
    ['outbox.discard', [ITEM, ITEM]],
    ['notifications.show', []],
    ['notifications.show', [{ ...NOTE, title: '' }]],
    ['notifications.show', [{ ...NOTE, title: 'x'.repeat(121) }]],
    ['notifications.show', [{ ...NOTE, body: 'x'.repeat(501) }]],
    ['notifications.show', [{ ...NOTE, kind: 'alert' }]],
    ['notifications.show', [{ ...NOTE, route: 'https://evil.example/' }]],
    ['notifications.show', [{ ...NOTE, route: '//evil.example/x' }]],
    ['notifications.show', [{ ...NOTE, route: '/calls/../../etc' }]],
    ['notifications.show', [{ ...NOTE, route: 'javascript:alert(1)' }]],
    ['notifications.show', [{ ...NOTE, icon: '/etc/passwd' }]],
    ['tray.setUnreadCount', []],
    ['tray.setUnreadCount', [-1]],
    ['tray.setUnreadCount', [10_000]],
    ['tray.setUnreadCount', [1.5]],
    ['tray.setUnreadCount', ['3']],
    ['tray.setUnreadCount', [Number.NaN]],
    ['updates.status', ['check']],
    ['screenPicker.choose', []],
    ['screenPicker.choose', [{ requestId: 'not-a-uuid', sourceId: null }]],
    ['screenPicker.choose', [{ requestId: ITEM, sourceId: 'x'.repeat(257) }]],
    ['screenPicker.choose', [{ requestId: ITEM, sourceId: null, stream: 'all' }]],
  ])('%s refuses malformed arguments (case %#)', async (name, args) => {
    const { handlers, openExternal, keychain, fetch, desktop } = setUp();
    const call = handlerOf(handlers, name)(from(`${APP}/`), ...args);
    await expect(call).rejects.toMatchObject({
      code: 'INVALID_PAYLOAD',
      message: expect.stringContaining(`${name}: invalid arguments`) as string,
    });
    // The refusal does not echo a token back (it may end up in a log).
    await expect(call).rejects.toSatisfy((error: Error) => !error.message.includes(TOKEN));
    expect(openExternal).not.toHaveBeenCalled();
    expect(keychain.calls).toEqual([]);
    expect(fetch).not.toHaveBeenCalled();
    for (const spy of desktop.spies) expect(spy).not.toHaveBeenCalled();
  });
});

describe('registerIpcHandlers', () => {
  it('registers each handler on the channel the preload invokes, and removes them all', async () => {
    const registered = new Map<string, (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown>>();
    const ipcMain: IpcMainLike = {
      handle: (channel, listener) => {
        if (registered.has(channel)) throw new Error(`twice: ${channel}`);
        registered.set(channel, listener);
      },
      removeHandler: (channel) => registered.delete(channel),
    };
    const { handlers } = setUp();
    const unregister = registerIpcHandlers(ipcMain, handlers);
    expect([...registered.keys()].sort()).toEqual(validCalls.map(([name]) => `megilance:${name}`).sort());
    expect(ipcChannel('credentials', 'refresh')).toBe('megilance:credentials.refresh');
    await expect(registered.get('megilance:app.getInfo')?.(from(APP))).resolves.toEqual(appInfo);
    await expect(registered.get('megilance:app.getInfo')?.(from('https://evil.example'))).rejects.toThrow(
      /not the app/,
    );
    unregister();
    expect(registered.size).toBe(0);
  });
});

describe('credentials over IPC, against a real server', () => {
  let accounts: AccountServer;
  beforeAll(async () => {
    accounts = await startAccountServer();
  });
  afterAll(async () => {
    await accounts.dispose();
  });

  it('saves the token once, refreshes in main with rotation, never hands a refresh token back', async () => {
    const origin = accounts.server.url;
    const { handlers, keychain, userData } = setUp(origin);
    const page = from(`${origin}/`);
    const { userId, email, tokens } = await accounts.signedUp();
    const first = tokens.refreshToken;

    await expect(handlers.credentials.status(page)).resolves.toEqual({ mode: 'keychain', available: true });
    await expect(handlers.credentials.save(page, { accountId: userId, refreshToken: first })).resolves.toEqual({
      saved: 'keychain',
    });
    expect(keychain.stored(origin, userId)).toBe(first);

    // Main presents the stored token, keeps the rotated one, and answers an access token and the user.
    const refreshed = await handlers.credentials.refresh(page);
    if (refreshed.status !== 'signed-in') throw new Error(`expected signed-in, got ${JSON.stringify(refreshed)}`);
    expect(refreshed).toMatchObject({ held: 'keychain', user: { id: userId, email, emailVerified: true } });
    expect(refreshed.accessToken).toMatch(/^mla_/);
    expect(refreshed.accessExpiresAt).toBeInstanceOf(Date);
    expect(refreshed.accessExpiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(JSON.stringify(refreshed)).not.toMatch(/mlr_/);
    const second = keychain.stored(origin, userId);
    expect(second).toMatch(/^mlr_/);
    expect(second).not.toBe(first);

    // The access token is good for the API.
    const me = await apiClient(origin, { accessToken: refreshed.accessToken }).auth.me.query();
    expect(me.id).toBe(userId);

    // The rotated token works (main refreshes again), and the first one no longer does.
    const again = await handlers.credentials.refresh(page);
    expect(again.status).toBe('signed-in');
    expect(keychain.stored(origin, userId)).not.toBe(second);
    expect(await refusalOf(apiClient(origin).auth.refresh.mutate({ refreshToken: first }))).toBe('UNAUTHENTICATED');

    // Presenting a spent token ended the session (theft protection): main's next refresh learns it and deletes the token.
    const ended = await handlers.credentials.refresh(page);
    expect(ended).toMatchObject({
      status: 'signed-out',
      reason: 'sign-in-ended',
      message: expect.stringMatching(/sign in again/i) as string,
    });
    expect(keychain.items.size).toBe(0);

    // Only the non-secret preference is on disk: no token, no access token.
    const preferences = readFileSync(join(userData, 'credentials.json'), 'utf8');
    expect(JSON.parse(preferences)).toEqual({ version: 1, mode: 'keychain', lastAccount: {} });
    await expect(handlers.credentials.refresh(page)).resolves.toMatchObject({
      status: 'signed-out',
      reason: 'no-saved-sign-in',
    });
  });

  it('forget deletes the stored token; the renderer signs the session out itself', async () => {
    const origin = accounts.server.url;
    const { handlers, keychain } = setUp(origin);
    const page = from(origin);
    const { userId, tokens } = await accounts.signedUp();
    await handlers.credentials.save(page, { accountId: userId, refreshToken: tokens.refreshToken });
    await expect(handlers.credentials.forget(page)).resolves.toEqual({ forgotten: true });
    expect(keychain.items.size).toBe(0);
    await expect(handlers.credentials.refresh(page)).resolves.toMatchObject({ status: 'signed-out' });
  });
});
