/**
 * The whole desktop start-up under Node: fakes stand in for Electron's app,
 * window, session and ipcMain; the "utility process" is the real server
 * (`node server/cli.ts start`) in a child process.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserWindowConstructorOptions } from 'electron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeDesktopBootstrap } from '../shared/desktop-api.ts';
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
}

class FakeWebContents extends EventEmitter implements SecurableWebContents {
  openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }
}

class FakeWindow extends EventEmitter implements DesktopWindow {
  readonly webContents = new FakeWebContents();
  loadedUrl: string | undefined;
  shown = false;
  readonly options: BrowserWindowConstructorOptions;

  constructor(options: BrowserWindowConstructorOptions) {
    super();
    this.options = options;
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.emit('ready-to-show');
    return Promise.resolve();
  }
  show(): void {
    this.shown = true;
  }
  focus(): void {}
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
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
  const electron: DesktopElectron = {
    app: app satisfies DesktopAppModule,
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
  return { electron, app, windows, ipc, errors, forks, servers, openExternal, permissionCheck: () => permissionCheck };
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
    for (const server of fake.servers) {
      if (!server.hasExited() && server.pid !== undefined) process.kill(server.pid, 'SIGKILL');
      await server.exited;
    }
  });
  return { userData, ...fake };
}

const options = { env: {}, distDir, platform: 'linux', versions: { electron: '45.4.1', chrome: '142.0.0.0' } };

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

    expect(start).toEqual({ outcome: 'running', serverUrl: 'https://megilance.example.com', serverMode: 'remote' });
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
    app.emit('second-instance');
    expect(focus).toHaveBeenCalled();
  });
});
