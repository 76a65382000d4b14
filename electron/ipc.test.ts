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

function setUp(appOrigin = APP) {
  const openExternal = vi.fn((_url: string) => Promise.resolve());
  const keychain = new FakeKeychain();
  const userData = mkdtempSync(join(tmpdir(), 'megilance-ipc-'));
  temporary.push(userData);
  // Nothing listens on port 9: a refresh that got through would answer server-unavailable, not throw.
  const fetch = vi.fn(globalThis.fetch);
  const credentials = createDesktopCredentials({
    serverUrl: appOrigin,
    store: keychain,
    preferencesDir: userData,
    fetch,
  });
  const handlers = createIpcHandlers({ appOrigin, appInfo, openExternal, credentials });
  return { handlers, openExternal, keychain, userData, fetch };
}

const TOKEN = 'mlr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const USER = '0b7c4a52-5d1e-4a4e-9d3c-2f6f5f6b7a11';

/** Every handler with arguments that are valid for it, so each can be tried from a foreign sender. */
const validCalls = [
  ['app.getInfo', []],
  ['links.openExternal', ['https://example.com/']],
  ['credentials.status', []],
  ['credentials.save', [{ accountId: USER, refreshToken: TOKEN }]],
  ['credentials.refresh', []],
  ['credentials.forget', []],
  ['credentials.chooseMode', ['session-only']],
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
      const { handlers, openExternal, keychain, userData, fetch } = setUp();
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
    });
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
  ])('%s refuses malformed arguments %j', async (name, args) => {
    const { handlers, openExternal, keychain, fetch } = setUp();
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
