/**
 * The desktop app's life, from launch to quit: one instance, the server
 * (embedded, or the one MEGILANCE_SERVER_URL names), one secure window
 * showing it, the IPC handlers, and a clean server stop on quit.
 *
 * Electron comes in as an argument (main.ts passes the real modules), so
 * this file imports only types from 'electron' and the tests run the whole
 * start-up under Node with fakes for the app and window and a real server.
 */
import type { BrowserWindowConstructorOptions } from 'electron';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { desktopPlatformSchema, type DesktopAppInfo } from '../shared/desktop-api.ts';
import { createKeychainStore, type CredentialStore } from './credentials.ts';
import { createDesktopCredentials } from './credentials-sign-in.ts';
import {
  embeddedServerEnv,
  launchEmbeddedServer,
  utilityProcessSpawner,
  type EmbeddedServer,
  type UtilityFork,
} from './embedded-server.ts';
import { createIpcHandlers, registerIpcHandlers, type IpcMainLike } from './ipc.ts';
import {
  checkServerUrl,
  lockWebContents,
  mainWindowOptions,
  secureSession,
  type OpenExternal,
  type SecurableSession,
  type SecurableWebContents,
} from './security.ts';

interface PreventableEvent {
  preventDefault(): void;
}

/** The parts of Electron's `app` used here (the real one fits). */
export interface DesktopAppModule {
  requestSingleInstanceLock(): boolean;
  whenReady(): Promise<void>;
  getPath(name: 'userData'): string;
  getVersion(): string;
  quit(): void;
  exit(code?: number): void;
  on(event: 'second-instance' | 'window-all-closed' | 'activate', listener: () => void): unknown;
  on(event: 'before-quit', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'web-contents-created', listener: (event: unknown, contents: SecurableWebContents) => void): unknown;
}

/** The parts of a BrowserWindow used here. */
export interface DesktopWindow {
  readonly webContents: SecurableWebContents;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  show(): void;
  focus(): void;
  isMinimized(): boolean;
  restore(): void;
}

/** Electron, as this file needs it; main.ts adapts the real modules. */
export interface DesktopElectron {
  app: DesktopAppModule;
  createWindow(options: BrowserWindowConstructorOptions): DesktopWindow;
  /** session.defaultSession (only valid once the app is ready). */
  defaultSession(): SecurableSession;
  ipcMain: IpcMainLike;
  openExternal: OpenExternal;
  showErrorBox(title: string, content: string): void;
  forkUtilityProcess: UtilityFork;
}

export interface DesktopOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Folder of the bundled main.js (dist/electron): preload.cjs is beside it, the server in ../server, the UI in ../renderer. */
  distDir: string;
  platform: string;
  versions: { electron: string; chrome: string };
  startTimeoutMs?: number;
  /** Default: the OS keychain through keytar (loaded on first use). Tests pass an in-memory one. */
  credentialStore?: CredentialStore;
}

/**
 * The origin a server's tokens are filed under. The embedded server gets a
 * new free port each launch but is the same server (its database is in
 * userData), so its port is left out; a remote server is its origin.
 */
export function credentialsOriginOf(serverUrl: string, serverMode: 'embedded' | 'remote'): string {
  if (serverMode === 'remote') return serverUrl;
  const url = new URL(serverUrl);
  return `${url.protocol}//${url.hostname}`;
}

export type DesktopStart =
  | { outcome: 'running'; serverUrl: string; serverMode: 'embedded' | 'remote' }
  | { outcome: 'second-instance' }
  | { outcome: 'failed'; reason: string };

export async function runDesktopApp(electron: DesktopElectron, options: DesktopOptions): Promise<DesktopStart> {
  const { app } = electron;
  if (!app.requestSingleInstanceLock()) {
    // Another MegiLance is running; it gets focus through 'second-instance'.
    app.quit();
    return { outcome: 'second-instance' };
  }
  const platform = desktopPlatformSchema.parse(options.platform);

  let mainWindow: DesktopWindow | undefined;
  let server: EmbeddedServer | undefined;
  let serverStopped = false;
  let failed = false;
  let logStream: WriteStream | undefined;

  app.on('second-instance', () => {
    if (mainWindow === undefined) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('before-quit', (event) => {
    if (server === undefined || serverStopped) {
      logStream?.end();
      return;
    }
    // Hold the quit until the server has drained (in-flight requests finish, the database closes).
    event.preventDefault();
    const running = server;
    void running.stop().finally(() => {
      serverStopped = true;
      logStream?.end();
      if (failed) app.exit(1);
      else app.quit();
    });
  });

  /** Tells the user what went wrong, then quits (draining the server if it runs). */
  const fail = (title: string, reason: string): DesktopStart => {
    electron.showErrorBox(title, reason);
    failed = true;
    if (server !== undefined && !serverStopped) {
      app.quit();
    } else {
      logStream?.end();
      app.exit(1);
    }
    return { outcome: 'failed', reason };
  };

  await app.whenReady();
  const userDataDir = app.getPath('userData');

  let serverUrl: string;
  let serverMode: 'embedded' | 'remote';
  const configured = options.env['MEGILANCE_SERVER_URL'];
  if (configured !== undefined && configured.trim() !== '') {
    const checked = checkServerUrl(configured);
    if (!checked.ok) return fail('MegiLance cannot start', `MEGILANCE_SERVER_URL ${checked.reason}.`);
    serverUrl = checked.url;
    serverMode = 'remote';
  } else {
    const logDir = join(userDataDir, 'logs');
    const logFile = join(logDir, 'server.log');
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' });
    logStream = log;
    try {
      server = await launchEmbeddedServer({
        spawn: utilityProcessSpawner(electron.forkUtilityProcess, join(options.distDir, '..', 'server', 'cli.js')),
        env: embeddedServerEnv(options.env, { userDataDir, rendererDir: join(options.distDir, '..', 'renderer') }),
        // Not the launch folder: the server reads a .env from its working directory.
        cwd: userDataDir,
        ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
        onOutput: (_stream, line) => log.write(`${line}\n`),
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return fail(
        'MegiLance could not start',
        `The built-in server did not start.\n\n${message}\n\nThe full log is in ${logFile}`,
      );
    }
    serverUrl = server.url;
    serverMode = 'embedded';
    server.onUnexpectedExit((code) => {
      serverStopped = true;
      fail(
        'MegiLance stopped working',
        `The built-in server stopped unexpectedly (exit code ${String(code)}). Restart MegiLance; details are in ${logFile}`,
      );
    });
  }

  const appOrigin = serverUrl;
  const securityOptions = { appOrigin, openExternal: electron.openExternal };
  const locked = new WeakSet<SecurableWebContents>();
  const lock = (contents: SecurableWebContents): void => {
    if (locked.has(contents)) return;
    locked.add(contents);
    lockWebContents(contents, securityOptions);
  };
  secureSession(electron.defaultSession(), appOrigin);
  // Every webContents, not only the main window's (devtools, anything created later).
  app.on('web-contents-created', (_event, contents) => lock(contents));

  const appInfo: DesktopAppInfo = {
    name: 'MegiLance',
    version: app.getVersion(),
    platform,
    serverUrl,
    serverMode,
    electronVersion: options.versions.electron,
    chromeVersion: options.versions.chrome,
  };
  const credentials = createDesktopCredentials({
    serverUrl,
    storageOrigin: credentialsOriginOf(serverUrl, serverMode),
    store: options.credentialStore ?? createKeychainStore({ platform }),
    preferencesDir: userDataDir,
    userAgent: `MegiLance/${appInfo.version} (${platform}; Electron ${options.versions.electron})`,
  });
  registerIpcHandlers(
    electron.ipcMain,
    createIpcHandlers({ appOrigin, appInfo, openExternal: electron.openExternal, credentials }),
  );

  const openMainWindow = (): void => {
    const window = electron.createWindow(
      mainWindowOptions({
        preloadPath: join(options.distDir, 'preload.cjs'),
        bootstrap: { serverUrl, appVersion: appInfo.version, platform },
      }),
    );
    lock(window.webContents);
    mainWindow = window;
    window.once('ready-to-show', () => window.show());
    window.on('closed', () => {
      if (mainWindow === window) mainWindow = undefined;
    });
    window.loadURL(serverUrl).catch((error: unknown) => {
      fail(
        'MegiLance could not load',
        `Could not load ${serverUrl}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  };
  app.on('window-all-closed', () => {
    // macOS apps stay in the dock with no window; everywhere else closing the window quits.
    if (platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (mainWindow === undefined) openMainWindow();
  });
  openMainWindow();
  return { outcome: 'running', serverUrl, serverMode };
}
