import { describe, expect, it, vi } from 'vitest';
import { desktopIpcArgs, type DesktopAppInfo } from '../shared/desktop-api.ts';
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

function setUp() {
  const openExternal = vi.fn((_url: string) => Promise.resolve());
  const handlers = createIpcHandlers({ appOrigin: APP, appInfo, openExternal });
  return { handlers, openExternal };
}

/** Every handler with arguments that are valid for it, so each can be tried from a foreign sender. */
const validCalls = [
  ['app.getInfo', []],
  ['links.openExternal', ['https://example.com/']],
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
      const { handlers, openExternal } = setUp();
      const call = handlerOf(handlers, name)(from(url), ...args);
      await expect(call).rejects.toThrow(DesktopIpcError);
      await expect(call).rejects.toMatchObject({
        code: 'FOREIGN_SENDER',
        message: expect.stringContaining(name) as string,
      });
      expect(openExternal).not.toHaveBeenCalled();
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
  ])('%s refuses malformed arguments %j', async (name, args) => {
    const { handlers, openExternal } = setUp();
    const call = handlerOf(handlers, name)(from(`${APP}/`), ...args);
    await expect(call).rejects.toMatchObject({
      code: 'INVALID_PAYLOAD',
      message: expect.stringContaining(`${name}: invalid arguments`) as string,
    });
    expect(openExternal).not.toHaveBeenCalled();
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
    expect([...registered.keys()].sort()).toEqual(
      [ipcChannel('app', 'getInfo'), ipcChannel('links', 'openExternal')].sort(),
    );
    await expect(registered.get('megilance:app.getInfo')?.(from(APP))).resolves.toEqual(appInfo);
    await expect(registered.get('megilance:app.getInfo')?.(from('https://evil.example'))).rejects.toThrow(
      /not the app/,
    );
    unregister();
    expect(registered.size).toBe(0);
  });
});
