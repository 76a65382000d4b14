/**
 * The whole desktop start-up under Node: fakes stand in for Electron's app,
 * window, session and ipcMain; the "utility process" is the real server
 * (`node server/cli.ts start`) in a child process.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserWindowConstructorOptions } from 'electron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeDesktopBootstrap, desktopAppCors } from '../shared/desktop-api.ts';
import { APP_SCHEME_PRIVILEGES } from './app-protocol.ts';
import { cacheFileFor } from './cache/local-cache.ts';
import { FakeKeychain } from './credentials-test-support.ts';
import {
  credentialsOriginOf,
  runDesktopApp,
  type DesktopAppModule,
  type DesktopElectron,
  type DesktopWindow,
} from './desktop-app.ts';
import type { UtilityFork } from './embedded-server.ts';
import type { IpcInvokeEventLike } from './ipc.ts';
import type { PermissionCheckDetails, SecurableSession, SecurableWebContents } from './security.ts';

const root = resolve(import.meta.dirname, '..');
const distDir = join(root, 'dist', 'electron');

class FakeApp extends EventEmitter {
  isPackaged = false;
  readonly protocolClients: { protocol: string; path: string | undefined; args: string[] | undefined }[] = [];
  badgeCount = 0;
  hasLock = true;
  quitCalls = 0;
  exitCode: number | undefined;
  /** True once a quit got past 'before-quit'. */
  quitted = false;

  readonly userData: string;

  constructor(userData: string) {
    super();
    this.userData = userData;
  }

  requestSingleInstanceLock(): boolean {
    return this.hasLock;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  getPath(_name: 'userData'): string {
    return this.userData;
  }
  getVersion(): string {
    return '0.1.0';
  }
  quit(): void {
    this.quitCalls += 1;
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => (prevented = true) });
    if (!prevented) this.quitted = true;
  }
  exit(code = 0): void {
    this.exitCode = code;
  }
  setAsDefaultProtocolClient(protocol: string, path?: string, args?: string[]): boolean {
    this.protocolClients.push({ protocol, path, args });
    return true;
  }
  setBadgeCount(count = 0): boolean {
    this.badgeCount = count;
    return true;
  }
}

class FakeWebContents extends EventEmitter implements SecurableWebContents {
  openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
  url = '';
  readonly sent: { channel: string; value: unknown }[] = [];
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }
  send(channel: string, value: unknown): void {
    this.sent.push({ channel, value });
  }
  getURL(): string {
    return this.url;
  }
  /** What main pushed on one channel. */
  pushed(channel: string): unknown[] {
    return this.sent.filter((entry) => entry.channel === channel).map((entry) => entry.value);
  }
}

class FakeWindow extends EventEmitter implements DesktopWindow {
  readonly webContents = new FakeWebContents();
  loadedUrl: string | undefined;
  shown = false;
  focused = false;
  maximized = false;
  focusCalls = 0;
  readonly options: BrowserWindowConstructorOptions;

  constructor(options: BrowserWindowConstructorOptions) {
    super();
    this.options = options;
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.url = url;
    this.webContents.emit('did-start-loading');
    this.emit('ready-to-show');
    this.webContents.emit('did-finish-load');
    return Promise.resolve();
  }
  show(): void {
    this.shown = true;
  }
  focus(): void {
    this.focusCalls += 1;
  }
  isMinimized(): boolean {
    return false;
  }
  isFullScreen(): boolean {
    return false;
  }
  isMaximized(): boolean {
    return this.maximized;
  }
  maximize(): void {
    this.maximized = true;
  }
  isFocused(): boolean {
    return this.focused;
  }
  isDestroyed(): boolean {
    return false;
  }
  getBounds() {
    const { x = 0, y = 0, width = 0, height = 0 } = this.options;
    return { x, y, width, height };
  }
  getNormalBounds() {
    return this.getBounds();
  }
  restore(): void {}
}

class FakeNotification extends EventEmitter {
  shown = false;
  readonly options: { title: string; body: string };
  constructor(options: { title: string; body: string }) {
    super();
    this.options = options;
  }
  show(): void {
    this.shown = true;
  }
}

class FakeTray extends EventEmitter {
  tooltip = '';
  title = '';
  menu: unknown;
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setTitle(title: string): void {
    this.title = title;
  }
  setContextMenu(menu: unknown): void {
    this.menu = menu;
  }
  destroy(): void {}
}

type Invoke = (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown>;

function fakeElectron(userData: string) {
  const app = new FakeApp(userData);
  const windows: FakeWindow[] = [];
  const ipc = new Map<string, Invoke>();
  const errors: { title: string; content: string }[] = [];
  const forks: { modulePath: string; args: string[]; env: Record<string, string>; cwd: string }[] = [];
  const servers: { pid: number | undefined; exited: Promise<void>; hasExited: () => boolean }[] = [];
  let permissionCheck: ((c: unknown, p: string, o: string, d: PermissionCheckDetails) => boolean) | undefined;
  const session: SecurableSession = {
    setPermissionRequestHandler: () => undefined,
    setPermissionCheckHandler: (handler) => void (permissionCheck = handler),
    setDevicePermissionHandler: () => undefined,
    webRequest: { onHeadersReceived: () => undefined },
  };
  // utilityProcess.fork, played by Node running the server's sources.
  const forkUtilityProcess: UtilityFork = (modulePath, args, options) => {
    forks.push({ modulePath, args, env: options.env, cwd: options.cwd });
    const child = spawn(process.execPath, [join(root, 'server', 'cli.ts'), ...args], {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    servers.push({
      pid: child.pid,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
      hasExited: () => child.exitCode !== null || child.signalCode !== null,
    });
    return child;
  };
  const openExternal = vi.fn((_url: string) => Promise.resolve());
  const schemes: unknown[] = [];
  const protocolHandlers = new Map<string, (request: Request) => Promise<Response>>();
  const notifications: FakeNotification[] = [];
  const trays: FakeTray[] = [];
  const loadUpdater = vi.fn((): never => {
    throw new Error('electron-updater must not load in these tests');
  });
  const display = { workArea: { x: 0, y: 0, width: 1920, height: 1080 } };
  const displayMediaHandlers: Parameters<DesktopElectron['setDisplayMediaRequestHandler']>[0][] = [];
  const electron: DesktopElectron = {
    app: app satisfies DesktopAppModule,
    captureSources: () =>
      Promise.resolve([
        {
          id: 'screen:0:0',
          name: 'Entire screen',
          thumbnail: { toDataURL: () => 'data:image/png;base64,AA', isEmpty: () => false },
        },
      ]),
    setDisplayMediaRequestHandler: (handler) => void displayMediaHandlers.push(handler),
    protocol: {
      registerSchemesAsPrivileged: (list) => {
        // Before the app is ready: whenReady() has not been awaited yet when this runs.
        schemes.push(...list);
      },
      handle: (scheme, handler) => void protocolHandlers.set(scheme, handler),
    },
    screen: () => ({ getAllDisplays: () => [display], getPrimaryDisplay: () => display }),
    notifications: {
      isSupported: () => true,
      create: (options) => {
        const notification = new FakeNotification(options);
        notifications.push(notification);
        return notification;
      },
    },
    createTray: () => {
      const tray = new FakeTray();
      trays.push(tray);
      return tray;
    },
    buildMenu: (template) => template,
    loadUpdater,
    createWindow: (options) => {
      const window = new FakeWindow(options);
      windows.push(window);
      return window;
    },
    defaultSession: () => session,
    ipcMain: {
      handle: (channel, listener) => void ipc.set(channel, listener),
      removeHandler: (c) => void ipc.delete(c),
    },
    openExternal,
    showErrorBox: (title, content) => void errors.push({ title, content }),
    forkUtilityProcess,
  };
  return {
    electron,
    app,
    windows,
    ipc,
    errors,
    forks,
    servers,
    openExternal,
    schemes,
    protocolHandlers,
    notifications,
    trays,
    loadUpdater,
    permissionCheck: () => permissionCheck,
  };
}

const temporary: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setUp() {
  const userData = mkdtempSync(join(tmpdir(), 'megilance-desktop-'));
  temporary.push(userData);
  const fake = fakeElectron(userData);
  cleanups.push(async () => {
    // Quit what is still running (the cache closes its worker thread), then make sure the servers are gone.
    if (!fake.app.quitted && fake.app.exitCode === undefined && fake.app.listenerCount('before-quit') > 0) {
      fake.app.quit();
      await vi.waitFor(() => expect(fake.app.quitted || fake.app.exitCode !== undefined).toBe(true), {
        timeout: 15_000,
      });
    }
    for (const server of fake.servers) {
      if (!server.hasExited() && server.pid !== undefined) process.kill(server.pid, 'SIGKILL');
      await server.exited;
    }
  });
  return { userData, ...fake };
}

const options = {
  env: {},
  distDir,
  platform: 'linux',
  versions: { electron: '45.4.1', chrome: '142.0.0.0' },
  // The worker from source (the bundled one is proven in bundle.test.ts and the packaging check).
  cacheWorkerUrl: new URL('./cache/worker.ts', import.meta.url),
};

describe('runDesktopApp with the embedded server', () => {
  it('starts the server, opens one secure window on it, and drains the server on quit', async () => {
    const { electron, app, windows, ipc, forks, servers, userData, openExternal } = setUp();
    const start = await runDesktopApp(electron, options);

    expect(start).toMatchObject({ outcome: 'running', serverMode: 'embedded' });
    if (start.outcome !== 'running') return;
    const serverUrl = start.serverUrl;
    expect(serverUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The server: the bundle, in a utility process, on a free port, with the app's data folder.
    expect(forks).toHaveLength(1);
    expect(forks[0]).toMatchObject({
      modulePath: join(root, 'dist', 'server', 'cli.js'),
      args: ['start'],
      cwd: userData,
      env: { MEGILANCE_PORT: '0', MEGILANCE_HOST: '127.0.0.1', MEGILANCE_DATA_DIR: join(userData, 'data') },
    });
    expect(await (await fetch(`${serverUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(existsSync(join(userData, 'data', 'megilance.sqlite'))).toBe(true);
    expect(readFileSync(join(userData, 'logs', 'server.log'), 'utf8')).toContain(`MEGILANCE_SERVER_URL=${serverUrl}`);

    // The window: secure preferences, the preload beside main.js, the server's URL.
    expect(windows).toHaveLength(1);
    const window = windows[0];
    if (window === undefined) return;
    expect(window.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      preload: join(distDir, 'preload.cjs'),
    });
    expect(decodeDesktopBootstrap(window.options.webPreferences?.additionalArguments ?? [])).toEqual({
      serverUrl,
      appVersion: '0.1.0',
      platform: 'linux',
    });
    expect(window.loadedUrl).toBe(serverUrl);
    expect(window.shown).toBe(true);

    // Its webContents are locked to the app, and so is any other the app creates.
    expect(window.webContents.openHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(openExternal).toHaveBeenCalledWith('https://example.com/');
    const devtools = new FakeWebContents();
    app.emit('web-contents-created', {}, devtools);
    let prevented = false;
    devtools.emit('will-navigate', { url: 'https://evil.example/', preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);

    // IPC answers the app's origin and only that.
    const getInfo = ipc.get('megilance:app.getInfo');
    await expect(getInfo?.({ senderFrame: { url: `${serverUrl}/` } })).resolves.toMatchObject({
      serverUrl,
      serverMode: 'embedded',
      version: '0.1.0',
      electronVersion: '45.4.1',
    });
    await expect(getInfo?.({ senderFrame: { url: 'https://evil.example/' } })).rejects.toThrow(/not the app/);

    // Quit: held until the server has drained and exited, then let through.
    app.quit();
    expect(app.quitted).toBe(false);
    await servers[0]?.exited;
    await vi.waitFor(() => expect(app.quitted).toBe(true));
    expect(app.quitCalls).toBe(2);
    expect(app.exitCode).toBeUndefined();
    const log = readFileSync(join(userData, 'logs', 'server.log'), 'utf8');
    expect(log).toMatch(/"msg":"draining"/);
    expect(log).toMatch(/"msg":"stopped"/);
    await expect(fetch(`${serverUrl}/healthz`)).rejects.toThrow();
  });

  it('shows a clear error and exits when the server cannot start', async () => {
    const { electron, app, windows, errors, userData } = setUp();
    const start = await runDesktopApp(electron, { ...options, env: { LOG_LEVEL: 'loud' } });

    expect(start.outcome).toBe('failed');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.title).toBe('MegiLance could not start');
    expect(errors[0]?.content).toMatch(/did not start[\s\S]*exit code 78[\s\S]*LOG_LEVEL/);
    expect(errors[0]?.content).toContain(join(userData, 'logs', 'server.log'));
    expect(app.exitCode).toBe(1);
    expect(windows).toHaveLength(0);
  });

  it('tells the user and exits when the server dies later', async () => {
    const { electron, app, errors, servers } = setUp();
    const start = await runDesktopApp(electron, options);
    expect(start.outcome).toBe('running');
    process.kill(servers[0]?.pid ?? -1, 'SIGKILL');
    await vi.waitFor(() => expect(app.exitCode).toBe(1));
    expect(errors[0]?.title).toBe('MegiLance stopped working');
  });
});

describe('runDesktopApp with MEGILANCE_SERVER_URL', () => {
  it('uses the configured server: no embedded server, the window and permissions trust that origin', async () => {
    const { electron, windows, forks, permissionCheck } = setUp();
    const start = await runDesktopApp(electron, {
      ...options,
      env: { MEGILANCE_SERVER_URL: 'https://megilance.example.com/' },
    });

    expect(start).toEqual({
      outcome: 'running',
      serverUrl: 'https://megilance.example.com',
      serverMode: 'remote',
      renderer: 'server',
      appOrigin: 'https://megilance.example.com',
    });
    expect(forks).toHaveLength(0);
    expect(windows[0]?.loadedUrl).toBe('https://megilance.example.com');
    expect(permissionCheck()?.(null, 'media', 'https://megilance.example.com', {})).toBe(true);
    expect(permissionCheck()?.(null, 'media', 'http://127.0.0.1:8420', {})).toBe(false);
  });

  it('refuses an insecure remote address with a message naming the variable', async () => {
    const { electron, app, windows, forks, errors } = setUp();
    const start = await runDesktopApp(electron, {
      ...options,
      env: { MEGILANCE_SERVER_URL: 'http://megilance.example.com' },
    });

    expect(start.outcome).toBe('failed');
    expect(errors[0]?.content).toMatch(/^MEGILANCE_SERVER_URL plain http:\/\/ is only allowed for localhost/);
    expect(app.exitCode).toBe(1);
    expect(forks).toHaveLength(0);
    expect(windows).toHaveLength(0);
  });
});

describe('runDesktopApp: credentials', () => {
  it('registers the credentials handlers for the app origin, filing tokens under that server', async () => {
    const { electron, ipc, userData } = setUp();
    const keychain = new FakeKeychain();
    await runDesktopApp(electron, {
      ...options,
      env: { MEGILANCE_SERVER_URL: 'https://megilance.example.com' },
      credentialStore: keychain,
    });
    const page = { senderFrame: { url: 'https://megilance.example.com/' } };
    for (const method of ['status', 'save', 'refresh', 'forget', 'chooseMode']) {
      expect(ipc.has(`megilance:credentials.${method}`)).toBe(true);
    }
    await expect(ipc.get('megilance:credentials.status')?.(page)).resolves.toEqual({
      mode: 'keychain',
      available: true,
    });
    await expect(
      ipc.get('megilance:credentials.save')?.(page, {
        accountId: '0b7c4a52-5d1e-4a4e-9d3c-2f6f5f6b7a11',
        refreshToken: 'mlr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      }),
    ).resolves.toEqual({ saved: 'keychain' });
    expect([...keychain.items.keys()]).toEqual([
      'MegiLance (https://megilance.example.com)/0b7c4a52-5d1e-4a4e-9d3c-2f6f5f6b7a11',
    ]);
    // The non-secret preference lives in userData.
    expect(readFileSync(join(userData, 'credentials.json'), 'utf8')).not.toContain('mlr_');
    await expect(
      ipc.get('megilance:credentials.status')?.({ senderFrame: { url: 'https://evil.example/' } }),
    ).rejects.toThrow(/not the app/);
  });

  it('files the embedded server (a new port each launch) under its host without the port', () => {
    expect(credentialsOriginOf('http://127.0.0.1:41234', 'embedded')).toBe('http://127.0.0.1');
    expect(credentialsOriginOf('http://127.0.0.1:8420', 'remote')).toBe('http://127.0.0.1:8420');
    expect(credentialsOriginOf('https://megilance.example.com', 'remote')).toBe('https://megilance.example.com');
  });
});

describe('runDesktopApp as a second instance', () => {
  it('quits at once and leaves the running instance alone', async () => {
    const { electron, app, windows, forks } = setUp();
    app.hasLock = false;
    expect(await runDesktopApp(electron, options)).toEqual({ outcome: 'second-instance' });
    expect(app.quitted).toBe(true);
    expect(forks).toHaveLength(0);
    expect(windows).toHaveLength(0);
  });

  it('the first instance brings its window forward when another starts', async () => {
    const { electron, app, windows } = setUp();
    await runDesktopApp(electron, { ...options, env: { MEGILANCE_SERVER_URL: 'https://megilance.example.com' } });
    const window = windows[0];
    if (window === undefined) throw new Error('no window');
    const focus = vi.spyOn(window, 'focus');
    app.emit('second-instance', {}, ['/opt/MegiLance/megilance']);
    expect(focus).toHaveBeenCalled();
  });
});

/** A dist/ folder like the packaged app's: the built renderer and the tray icon (no server bundle needed: remote server). */
function packagedDist(): string {
  const dist = mkdtempSync(join(tmpdir(), 'megilance-dist-'));
  temporary.push(dist);
  mkdirSync(join(dist, 'renderer', 'assets'), { recursive: true });
  writeFileSync(join(dist, 'renderer', 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(dist, 'renderer', 'assets', 'app.js'), 'export {}');
  mkdirSync(join(dist, 'electron', 'icons'), { recursive: true });
  copyFileSync(join(root, 'build', 'icons', '32x32.png'), join(dist, 'electron', 'icons', 'tray.png'));
  return join(dist, 'electron');
}

/** A remote server standing in for one that allows (or not) the app:// origin; its API is never called here. */
async function remoteServer(allowAppOrigin: boolean): Promise<string> {
  const server: Server = createServer((request, response) => {
    if (allowAppOrigin && request.method === 'OPTIONS' && request.headers.origin === 'app://megilance') {
      response
        .writeHead(204, {
          'access-control-allow-origin': 'app://megilance',
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': desktopAppCors.headers.join(', '),
        })
        .end();
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  cleanups.push(() => new Promise((resolvePromise) => server.close(() => resolvePromise())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const CALL = '6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21';
const CONTRACT = '0b7c4a52-5d1e-4a4e-9d3c-2f6f5f6b7a11';
const REMOTE = { MEGILANCE_SERVER_URL: 'https://megilance.example.com' };

describe('runDesktopApp: the packaged renderer on app://megilance', () => {
  it('serves the renderer from app:// when the server allows that origin; the app trusts only app://', async () => {
    const { electron, app, windows, ipc, schemes, protocolHandlers, permissionCheck } = setUp();
    app.isPackaged = true;
    const serverUrl = await remoteServer(true);
    const start = await runDesktopApp(electron, {
      ...options,
      distDir: packagedDist(),
      env: { MEGILANCE_SERVER_URL: serverUrl },
    });
    expect(start).toMatchObject({
      outcome: 'running',
      renderer: 'app-scheme',
      appOrigin: 'app://megilance',
      serverUrl,
    });
    // Registered before ready (the fake records it synchronously, before whenReady resolves).
    expect(schemes).toEqual([APP_SCHEME_PRIVILEGES]);

    const window = windows[0]!;
    expect(window.loadedUrl).toBe('app://megilance/');
    // The page still talks to the server: the preload hands it the server's URL.
    expect(decodeDesktopBootstrap(window.options.webPreferences?.additionalArguments ?? []).serverUrl).toBe(serverUrl);

    // The handler serves the built renderer with a CSP that lets the page reach the server.
    const page = await protocolHandlers.get('app')!(new Request('app://megilance/calls/x'));
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`connect-src 'self' ws: wss: ${serverUrl}`);
    expect(csp).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="root">');

    // IPC, navigation and permissions: app:// is the app; the server's own pages are not.
    const getInfo = ipc.get('megilance:app.getInfo')!;
    await expect(getInfo({ senderFrame: { url: 'app://megilance/settings' } })).resolves.toMatchObject({ serverUrl });
    await expect(getInfo({ senderFrame: { url: `${serverUrl}/` } })).rejects.toThrow(/not the app/);
    expect(permissionCheck()?.(null, 'media', 'app://megilance', {})).toBe(true);
    expect(permissionCheck()?.(null, 'media', serverUrl, {})).toBe(false);
    let prevented = false;
    window.webContents.emit('will-navigate', { url: `${serverUrl}/`, preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
  });

  it('keeps loading the server’s pages when the server does not allow app://, and logs why', async () => {
    const { electron, app, windows, protocolHandlers, userData } = setUp();
    app.isPackaged = true;
    const serverUrl = await remoteServer(false);
    const start = await runDesktopApp(electron, {
      ...options,
      distDir: packagedDist(),
      env: { MEGILANCE_SERVER_URL: serverUrl },
    });
    expect(start).toMatchObject({ renderer: 'server', appOrigin: serverUrl });
    expect(windows[0]?.loadedUrl).toBe(serverUrl);
    expect(protocolHandlers.size).toBe(0);
    await vi.waitFor(() =>
      expect(readFileSync(join(userData, 'logs', 'main.log'), 'utf8')).toMatch(/does not allow app:\/\/megilance/),
    );
  });
});

describe('runDesktopApp: OS integration', () => {
  it('opens a megilance:// launch link as the first page; later links navigate the page; bad ones are ignored', async () => {
    const { electron, app, windows, userData } = setUp();
    await runDesktopApp(electron, {
      ...options,
      env: REMOTE,
      argv: ['/opt/MegiLance/megilance', `megilance://call/${CALL}`],
    });
    expect(app.protocolClients).toEqual([{ protocol: 'megilance', path: undefined, args: undefined }]);
    const window = windows[0]!;
    expect(window.loadedUrl).toBe(`https://megilance.example.com/calls/${CALL}`);

    // Windows and Linux: a second launch with a link.
    app.emit('second-instance', {}, ['/opt/MegiLance/megilance', `megilance://contract/${CONTRACT}`]);
    // macOS: open-url.
    app.emit('open-url', { preventDefault: () => {} }, `megilance://call/${CALL}`);
    // Neither of these reaches the page.
    app.emit('second-instance', {}, ['/opt/MegiLance/megilance', `megilance://settings/${CALL}`]);
    app.emit('open-url', { preventDefault: () => {} }, 'megilance://call/not-a-uuid');
    expect(window.webContents.pushed('megilance:event.navigate')).toEqual([`/contracts/${CONTRACT}`, `/calls/${CALL}`]);
    expect(window.focusCalls).toBeGreaterThanOrEqual(2);
    expect(windows).toHaveLength(1);
    await vi.waitFor(() => {
      const log = readFileSync(join(userData, 'logs', 'main.log'), 'utf8');
      expect(log).toMatch(/deep links: ignored .*unknown link kind/);
      expect(log).toMatch(/deep links: ignored .*not a UUID/);
    });
  });

  it('reopens the window where it was, maximized as it was, and remembers where it goes', async () => {
    const { electron, windows, userData } = setUp();
    const file = join(userData, 'window-state.json');
    writeFileSync(file, JSON.stringify({ version: 1, x: 200, y: 120, width: 1100, height: 760, maximized: true }));
    await runDesktopApp(electron, { ...options, env: REMOTE });
    const window = windows[0]!;
    expect(window.options).toMatchObject({ x: 200, y: 120, width: 1100, height: 760 });
    expect(window.maximized).toBe(true);
    // Secure options are untouched by the remembered bounds.
    expect(window.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    });
    window.maximized = false;
    window.emit('close');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      version: 1,
      x: 200,
      y: 120,
      width: 1100,
      height: 760,
      maximized: false,
    });
  });

  it('the tray count, notifications and update status are reachable from the page, and only from it', async () => {
    const { electron, windows, ipc, trays, notifications, loadUpdater } = setUp();
    await runDesktopApp(electron, { ...options, distDir: packagedDist(), env: REMOTE });
    const page = { senderFrame: { url: 'https://megilance.example.com/messages' } };
    const window = windows[0]!;

    expect(trays).toHaveLength(1);
    expect(trays[0]?.tooltip).toBe('MegiLance');
    await ipc.get('megilance:tray.setUnreadCount')!(page, 3);
    expect(trays[0]?.tooltip).toBe('MegiLance — 3 unread');
    await expect(
      ipc.get('megilance:tray.setUnreadCount')!({ senderFrame: { url: 'https://evil.example/' } }, 7),
    ).rejects.toThrow(/not the app/);
    expect(trays[0]?.tooltip).toBe('MegiLance — 3 unread');

    const note = { title: 'Ada', body: 'Call me', kind: 'call', route: `/calls/${CALL}` };
    window.focused = true;
    await expect(ipc.get('megilance:notifications.show')!(page, note)).resolves.toEqual({
      shown: false,
      reason: 'window-focused',
    });
    window.focused = false;
    await expect(ipc.get('megilance:notifications.show')!(page, note)).resolves.toEqual({ shown: true });
    expect(notifications.map((n) => n.options.title)).toEqual(['Ada']);
    notifications[0]?.emit('click');
    expect(window.webContents.pushed('megilance:event.navigate')).toEqual([`/calls/${CALL}`]);

    await expect(ipc.get('megilance:updates.status')!(page)).resolves.toEqual({ state: 'off', reason: 'development' });
    expect(loadUpdater).not.toHaveBeenCalled();
  });

  it('pushes the outbox state to the page; the account’s cache opens at sign-in and is deleted at sign-out', async () => {
    const { electron, windows, ipc, userData } = setUp();
    await runDesktopApp(electron, { ...options, env: REMOTE, credentialStore: new FakeKeychain() });
    const page = { senderFrame: { url: 'https://megilance.example.com/' } };
    const window = windows[0]!;
    await ipc.get('megilance:credentials.save')!(page, {
      accountId: CONTRACT,
      refreshToken: 'mlr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    await vi.waitFor(() =>
      expect(window.webContents.pushed('megilance:event.outboxState')).toContainEqual(
        expect.objectContaining({ available: true, waiting: 0 }),
      ),
    );
    const file = cacheFileFor({
      directory: join(userData, 'cache'),
      serverOrigin: 'https://megilance.example.com',
      accountId: CONTRACT,
    });
    expect(existsSync(file)).toBe(true);
    await expect(ipc.get('megilance:cache.stats')!(page)).resolves.toMatchObject({ open: true });

    await expect(ipc.get('megilance:credentials.forget')!(page)).resolves.toEqual({ forgotten: true });
    expect(existsSync(file)).toBe(false);
    expect(window.webContents.pushed('megilance:event.outboxState').at(-1)).toEqual({ available: false });
  });
});
