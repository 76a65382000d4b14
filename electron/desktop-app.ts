/**
 * The desktop app's life, from launch to quit: one instance, the server
 * (embedded, or the one MEGILANCE_SERVER_URL names), one secure window
 * showing the app (the packaged renderer on app://megilance, or the
 * server's pages), the IPC handlers, the signed-in account's offline data,
 * OS integration (megilance:// links, notifications, the tray, the window's
 * place, updates), and a clean stop on quit.
 *
 * Electron comes in as an argument (main.ts passes the real modules), so
 * this file imports only types from 'electron' and the tests run the whole
 * start-up under Node with fakes for the app and window and a real server.
 */
import type { BrowserWindowConstructorOptions, CustomScheme } from 'electron';
import { createWriteStream, existsSync, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { contentSecurityPolicyHeader, desktopAppContentSecurityPolicy } from '../shared/content-security-policy.ts';
import { DESKTOP_APP_SCHEME, desktopPlatformSchema, type DesktopAppInfo } from '../shared/desktop-api.ts';
import { APP_SCHEME_PRIVILEGES, chooseRendererSource, createAppProtocolHandler } from './app-protocol.ts';
import { createKeychainStore, type CredentialStore } from './credentials.ts';
import { createDesktopCredentials, type DesktopCredentials } from './credentials-sign-in.ts';
import { registerDeepLinks } from './deep-links.ts';
import {
  embeddedServerEnv,
  launchEmbeddedServer,
  utilityProcessSpawner,
  type EmbeddedServer,
  type UtilityFork,
} from './embedded-server.ts';
import { ipcEvents } from './ipc-channels.ts';
import { createIpcHandlers, registerIpcHandlers, type IpcMainLike } from './ipc.ts';
import { createDesktopNotifier, type NotificationSystem } from './notifications.ts';
import { accessFromCredentials, OfflineData, withOfflineData } from './offline-data.ts';
import type { OutboxRetryPolicy } from './cache/outbox.ts';
import {
  checkServerUrl,
  isAppUrl,
  lockWebContents,
  mainWindowOptions,
  secureSession,
  type OpenExternal,
  type SecurableSession,
  type SecurableWebContents,
} from './security.ts';
import { createUnreadTray, type TrayLike, type TrayMenuItem } from './tray.ts';
import { startUpdates, type AppUpdaterLike, type UpdateService } from './updates.ts';
import {
  fitToDisplays,
  loadWindowState,
  trackWindowState,
  WINDOW_STATE_FILE,
  type DisplayLike,
  type TrackedWindow,
} from './window-state.ts';
import {
  displayMediaHandler,
  ScreenPicker,
  type CapturerSourceLike,
  type DisplayMediaRequestLike,
} from './screen-picker.ts';

interface PreventableEvent {
  preventDefault(): void;
}

/** The parts of Electron's `app` used here (the real one fits). */
export interface DesktopAppModule {
  readonly isPackaged: boolean;
  requestSingleInstanceLock(): boolean;
  whenReady(): Promise<void>;
  getPath(name: 'userData'): string;
  getVersion(): string;
  quit(): void;
  exit(code?: number): void;
  setAsDefaultProtocolClient(protocol: string, path?: string, args?: string[]): boolean;
  setBadgeCount(count?: number): boolean;
  on(event: 'second-instance', listener: (event: unknown, argv: string[]) => void): unknown;
  on(event: 'window-all-closed' | 'activate', listener: () => void): unknown;
  on(event: 'before-quit', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'open-url', listener: (event: PreventableEvent, url: string) => void): unknown;
  on(event: 'web-contents-created', listener: (event: unknown, contents: SecurableWebContents) => void): unknown;
}

/** The parts of a window's webContents used here (a SecurableWebContents too). */
export interface DesktopWebContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: PreventableEvent & { url: string }) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'did-start-loading', listener: () => void): unknown;
  on(event: 'did-finish-load', listener: () => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  send(channel: string, ...args: unknown[]): void;
  getURL(): string;
}

/** The parts of a BrowserWindow used here. */
export interface DesktopWindow extends TrackedWindow {
  readonly webContents: DesktopWebContents;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): unknown;
  show(): void;
  focus(): void;
  restore(): void;
  maximize(): void;
  isFocused(): boolean;
  isDestroyed(): boolean;
}

/** Electron, as this file needs it; main.ts adapts the real modules. */
export interface DesktopElectron {
  app: DesktopAppModule;
  createWindow(options: BrowserWindowConstructorOptions): DesktopWindow;
  /** session.defaultSession (only valid once the app is ready). */
  defaultSession(): SecurableSession;
  protocol: {
    /** Before the app is ready. */
    registerSchemesAsPrivileged(schemes: CustomScheme[]): void;
    handle(scheme: string, handler: (request: Request) => Promise<Response>): void;
  };
  /** Electron's `screen` (only valid once the app is ready). */
  screen(): { getAllDisplays(): DisplayLike[]; getPrimaryDisplay(): DisplayLike };
  ipcMain: IpcMainLike;
  openExternal: OpenExternal;
  showErrorBox(title: string, content: string): void;
  forkUtilityProcess: UtilityFork;
  notifications: NotificationSystem;
  createTray(iconPath: string): TrayLike;
  buildMenu(template: TrayMenuItem[]): unknown;
  /** electron-updater's autoUpdater; loaded only when updates are configured. */
  loadUpdater(): AppUpdaterLike;
  /** desktopCapturer.getSources for screens and windows, with small thumbnails (only valid once ready). */
  captureSources(): Promise<CapturerSourceLike[]>;
  /** session.defaultSession.setDisplayMediaRequestHandler (only valid once ready). */
  setDisplayMediaRequestHandler(
    handler: (request: DisplayMediaRequestLike, callback: (streams: { video?: CapturerSourceLike }) => void) => void,
  ): void;
}

export interface DesktopOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Folder of the bundled main.js (dist/electron): preload.cjs and cache-worker.mjs are beside it, the server in ../server, the UI in ../renderer. */
  distDir: string;
  platform: string;
  versions: { electron: string; chrome: string };
  /** `process.argv` (a megilance:// link on Windows and Linux); default none. */
  argv?: readonly string[];
  /** `process.defaultApp` (started as `electron <folder>`); default false. */
  defaultApp?: boolean;
  /** `process.execPath`. */
  execPath?: string;
  /** `process.resourcesPath` (app-update.yml); default: none (updates off). */
  resourcesPath?: string;
  startTimeoutMs?: number;
  /** Default: the OS keychain through keytar (loaded on first use). Tests pass an in-memory one. */
  credentialStore?: CredentialStore;
  /** The cache worker; default dist/electron/cache-worker.mjs (from app.asar.unpacked when packaged). */
  cacheWorkerUrl?: URL;
  outboxRetry?: Partial<OutboxRetryPolicy>;
  /** Default: the global fetch (the CORS check of the server). */
  fetch?: typeof fetch;
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

/** A file inside app.asar that is also unpacked (asarUnpack) is loaded from app.asar.unpacked: a worker thread needs a real file. */
export function unpackedPath(path: string): string {
  return path.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

export type DesktopStart =
  | {
      outcome: 'running';
      serverUrl: string;
      serverMode: 'embedded' | 'remote';
      renderer: 'app-scheme' | 'server';
      appOrigin: string;
    }
  | { outcome: 'second-instance' }
  | { outcome: 'failed'; reason: string };

export async function runDesktopApp(electron: DesktopElectron, options: DesktopOptions): Promise<DesktopStart> {
  const { app } = electron;
  // Must happen before the app is ready; harmless when the scheme ends up unused.
  electron.protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
  if (!app.requestSingleInstanceLock()) {
    // Another MegiLance is running; it gets focus (and any megilance:// link) through 'second-instance'.
    app.quit();
    return { outcome: 'second-instance' };
  }
  const platform = desktopPlatformSchema.parse(options.platform);

  let mainWindow: DesktopWindow | undefined;
  let server: EmbeddedServer | undefined;
  /** What exists once the app is ready: used by handlers registered before (quit, links). */
  const ready: {
    offline?: OfflineData;
    updates?: UpdateService;
    mainLog?: WriteStream;
    /** Opens the window (on a route); set once the app is ready and the server known. */
    openWindow?: (route?: string) => void;
    credentials?: DesktopCredentials;
  } = {};
  let shutDown = false;
  let shuttingDown = false;
  let failed = false;
  let logStream: WriteStream | undefined;
  /** A route to show once the page can take it (a link or a click that came before the window or its page). */
  let pendingRoute: string | undefined;
  /** The window's page has loaded (its preload listens for routes). */
  let pageLoaded = false;
  let appOrigin = '';

  const log = (line: string): void => {
    console.warn(line);
    ready.mainLog?.write(`${new Date().toISOString()} ${line}\n`);
  };

  const bringForward = (window: DesktopWindow): void => {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };

  /** Pushes to the page, only while it is the app's own (navigation is locked, this is the second guard). */
  const sendToPage = (channel: string, value: unknown): boolean => {
    const window = mainWindow;
    if (window === undefined || window.isDestroyed() || !pageLoaded) return false;
    if (!isAppUrl(window.webContents.getURL(), appOrigin)) return false;
    window.webContents.send(channel, value);
    return true;
  };

  /** Shows a route of the app: in the open window, or in the window opened for it. */
  const showRoute = (route: string): void => {
    const window = mainWindow;
    if (window === undefined) {
      pendingRoute = route;
      ready.openWindow?.(); // Before ready, the window opens on it later.
      return;
    }
    bringForward(window);
    if (!sendToPage(ipcEvents.navigate, route)) pendingRoute = route;
  };

  const deepLinks = registerDeepLinks({
    app,
    defaultApp: options.defaultApp ?? false,
    execPath: options.execPath ?? process.execPath,
    argv: options.argv ?? [],
    open: (link) => showRoute(link.route),
    log,
  });
  if (deepLinks.initial !== undefined) pendingRoute = deepLinks.initial.route;

  app.on('second-instance', (_event, argv) => {
    // A link in the new launch's arguments (Windows, Linux) opens its route; otherwise just come forward.
    if (deepLinks.handleArgv(argv) !== undefined) return;
    if (mainWindow !== undefined) bringForward(mainWindow);
    else ready.openWindow?.();
  });

  const shutdown = async (): Promise<void> => {
    ready.updates?.stop();
    await Promise.all([
      server === undefined ? undefined : server.stop(),
      ready.offline === undefined ? undefined : ready.offline.close(),
    ]);
  };
  app.on('before-quit', (event) => {
    if (shutDown) {
      logStream?.end();
      ready.mainLog?.end();
      return;
    }
    // Hold the quit until the server has drained and the cache is closed (WAL checkpointed).
    event.preventDefault();
    if (shuttingDown) return;
    shuttingDown = true;
    void shutdown()
      .catch((error: unknown) => log(`shutdown: ${String(error)}`))
      .finally(() => {
        shutDown = true;
        if (failed) {
          logStream?.end();
          ready.mainLog?.end();
          app.exit(1);
        } else {
          app.quit();
        }
      });
  });

  /** Tells the user what went wrong, then quits (draining the server if it runs). */
  const fail = (title: string, reason: string): DesktopStart => {
    electron.showErrorBox(title, reason);
    failed = true;
    if ((server !== undefined || ready.offline !== undefined) && !shutDown) {
      app.quit();
    } else {
      logStream?.end();
      ready.mainLog?.end();
      app.exit(1);
    }
    return { outcome: 'failed', reason };
  };

  await app.whenReady();
  const userDataDir = app.getPath('userData');
  const logDir = join(userDataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  // Opened now, not on a later tick: a log line may come at once.
  ready.mainLog = createWriteStream('', { fd: openSync(join(logDir, 'main.log'), 'a') });

  let serverUrl: string;
  let serverMode: 'embedded' | 'remote';
  const configured = options.env['MEGILANCE_SERVER_URL'];
  if (configured !== undefined && configured.trim() !== '') {
    const checked = checkServerUrl(configured);
    if (!checked.ok) return fail('MegiLance cannot start', `MEGILANCE_SERVER_URL ${checked.reason}.`);
    serverUrl = checked.url;
    serverMode = 'remote';
  } else {
    const logFile = join(logDir, 'server.log');
    const serverLog = createWriteStream(logFile, { flags: 'a' });
    logStream = serverLog;
    try {
      server = await launchEmbeddedServer({
        spawn: utilityProcessSpawner(electron.forkUtilityProcess, join(options.distDir, '..', 'server', 'cli.js')),
        env: embeddedServerEnv(options.env, {
          userDataDir,
          rendererDir: join(options.distDir, '..', 'renderer'),
          ...(app.isPackaged && options.resourcesPath !== undefined
            ? { mediasoupWorkerBin: packagedMediasoupWorker(options.resourcesPath, platform) }
            : {}),
        }),
        // Not the launch folder: the server reads a .env from its working directory.
        cwd: userDataDir,
        ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
        onOutput: (_stream, line) => serverLog.write(`${line}\n`),
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
      server = undefined;
      fail(
        'MegiLance stopped working',
        `The built-in server stopped unexpectedly (exit code ${String(code)}). Restart MegiLance; details are in ${logFile}`,
      );
    });
  }

  // ── Where the pages come from, and so which origin is the app's ──
  const rendererDir = join(options.distDir, '..', 'renderer');
  const renderer = await chooseRendererSource({
    isPackaged: app.isPackaged,
    rendererDir,
    serverUrl,
    preference: options.env['MEGILANCE_RENDERER'],
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  log(
    renderer.mode === 'app-scheme'
      ? `renderer: ${renderer.entryUrl} from ${rendererDir}; API at ${serverUrl}`
      : `renderer: the server's pages at ${serverUrl} (${renderer.reason})`,
  );
  appOrigin = renderer.origin;
  const contentSecurityPolicy =
    renderer.mode === 'app-scheme'
      ? contentSecurityPolicyHeader(desktopAppContentSecurityPolicy(serverUrl))
      : contentSecurityPolicyHeader();
  if (renderer.mode === 'app-scheme') {
    electron.protocol.handle(
      DESKTOP_APP_SCHEME,
      createAppProtocolHandler({ rootDir: rendererDir, contentSecurityPolicy, log }),
    );
  }

  const securityOptions = { appOrigin, openExternal: electron.openExternal, warn: log };
  const locked = new WeakSet<SecurableWebContents>();
  const lock = (contents: SecurableWebContents): void => {
    if (locked.has(contents)) return;
    locked.add(contents);
    lockWebContents(contents, securityOptions);
  };
  secureSession(electron.defaultSession(), appOrigin, contentSecurityPolicy);
  // Screen sharing: getDisplayMedia asks the page which screen or window (screen-picker.ts).
  const screenPicker = new ScreenPicker((request) => sendToPage(ipcEvents.screenPickerRequest, request));
  electron.setDisplayMediaRequestHandler(
    displayMediaHandler({ appOrigin, getSources: () => electron.captureSources(), picker: screenPicker, log }),
  );
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
  const userAgent = `MegiLance/${appInfo.version} (${platform}; Electron ${options.versions.electron})`;
  const storageOrigin = credentialsOriginOf(serverUrl, serverMode);

  // ── Sign-in, and the signed-in account's offline data ──

  const cacheWorker = options.cacheWorkerUrl ?? bundledCacheWorker(options.distDir);
  if (cacheWorker === undefined) log(`offline data: no cache worker beside ${options.distDir}; the cache stays off`);
  const offline = new OfflineData({
    directory: join(userDataDir, 'cache'),
    serverUrl,
    storageOrigin,
    userAgent,
    ...(cacheWorker === undefined ? {} : { workerUrl: cacheWorker }),
    ...(options.outboxRetry === undefined ? {} : { retry: options.outboxRetry }),
    refreshAccess: accessFromCredentials(() => {
      if (ready.credentials === undefined) throw new Error('credentials are not ready');
      return ready.credentials;
    }),
    log,
    logger: { warn: (details, message) => log(`cache: ${message} ${JSON.stringify(details)}`) },
  });
  const credentials = withOfflineData(
    createDesktopCredentials({
      serverUrl,
      storageOrigin,
      store: options.credentialStore ?? createKeychainStore({ platform }),
      preferencesDir: userDataDir,
      userAgent,
      log,
    }),
    offline,
  );
  ready.offline = offline;
  ready.credentials = credentials;
  offline.onOutboxState((state) => sendToPage(ipcEvents.outboxState, state));

  // ── OS integration ──
  // Copied there by build/bundle-electron.ts; Electron picks the @2x file on high-density screens.
  const iconPath = join(options.distDir, 'icons', platform === 'darwin' ? 'tray-16.png' : 'tray.png');
  const hasIcon = existsSync(iconPath);
  const notifier = createDesktopNotifier({
    system: electron.notifications,
    isWindowFocused: () => mainWindow !== undefined && !mainWindow.isDestroyed() && mainWindow.isFocused(),
    openRoute: showRoute,
    ...(hasIcon ? { icon: iconPath } : {}),
    log,
  });
  const tray = createUnreadTray({
    createTray: () => {
      if (!hasIcon) {
        log(`tray: no icon at ${iconPath}; no tray icon`);
        return undefined;
      }
      return electron.createTray(iconPath);
    },
    buildMenu: (template) => electron.buildMenu(template),
    platform,
    setBadgeCount: (count) => app.setBadgeCount(count),
    openWindow: () => (mainWindow === undefined ? ready.openWindow?.() : bringForward(mainWindow)),
    quit: () => app.quit(),
  });
  const updates = startUpdates({
    isPackaged: app.isPackaged,
    resourcesPath: options.resourcesPath ?? '',
    platform,
    env: options.env,
    loadUpdater: () => electron.loadUpdater(),
    notifyDownloaded: (version, restart) => {
      notifier.showFromApp(
        'MegiLance update ready',
        `Version ${version} is ready. Restart MegiLance to update.`,
        restart,
      );
    },
    log,
  });
  ready.updates = updates;

  registerIpcHandlers(
    electron.ipcMain,
    createIpcHandlers({
      appOrigin,
      appInfo,
      openExternal: electron.openExternal,
      credentials,
      offline,
      notifications: notifier,
      tray,
      updates,
      screenPicker,
    }),
  );

  // ── The window ──
  const windowStateFile = join(userDataDir, WINDOW_STATE_FILE);
  const openMainWindow = (): void => {
    if (mainWindow !== undefined) return;
    const state = loadWindowState(windowStateFile, log);
    const screen = electron.screen();
    const bounds = fitToDisplays(state, screen.getAllDisplays(), screen.getPrimaryDisplay());
    const window = electron.createWindow(
      mainWindowOptions({
        preloadPath: join(options.distDir, 'preload.cjs'),
        bootstrap: { serverUrl, appVersion: appInfo.version, platform },
        bounds,
      }),
    );
    lock(window.webContents);
    mainWindow = window;
    pageLoaded = false;
    if (state.maximized) window.maximize();
    trackWindowState(window, windowStateFile, { log });
    window.webContents.on('did-start-loading', () => {
      pageLoaded = false;
    });
    window.webContents.on('did-finish-load', () => {
      pageLoaded = true;
      // A route that came while the page loaded (the first one is in the URL already).
      const route = pendingRoute;
      pendingRoute = undefined;
      if (route !== undefined) sendToPage(ipcEvents.navigate, route);
    });
    window.once('ready-to-show', () => window.show());
    window.on('closed', () => {
      if (mainWindow === window) {
        mainWindow = undefined;
        pageLoaded = false;
      }
    });
    // A link the app was started with (or that came before the window) is the first page shown.
    const route = pendingRoute ?? '/';
    pendingRoute = undefined;
    const entryUrl = route === '/' ? renderer.entryUrl : `${renderer.origin}${route}`;
    window.loadURL(entryUrl).catch((error: unknown) => {
      fail(
        'MegiLance could not load',
        `Could not load ${entryUrl}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  };
  ready.openWindow = (route) => {
    if (route !== undefined) pendingRoute = route;
    openMainWindow();
  };
  app.on('window-all-closed', () => {
    // macOS apps stay in the dock with no window; everywhere else closing the window quits.
    if (platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (mainWindow === undefined) openMainWindow();
  });
  openMainWindow();
  return { outcome: 'running', serverUrl, serverMode, renderer: renderer.mode, appOrigin };
}

/** Where electron-builder.yml's extraResources puts the SFU's worker binary. */
export function packagedMediasoupWorker(resourcesPath: string, platform: string): string {
  return join(resourcesPath, 'mediasoup', platform === 'win32' ? 'mediasoup-worker.exe' : 'mediasoup-worker');
}

/** dist/electron/cache-worker.mjs (from app.asar.unpacked when packaged), if it was built. */
function bundledCacheWorker(distDir: string): URL | undefined {
  const file = unpackedPath(join(distDir, 'cache-worker.mjs'));
  return existsSync(file) ? pathToFileURL(file) : undefined;
}
