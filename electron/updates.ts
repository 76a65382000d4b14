/**
 * Auto-update with electron-updater, only where a build says where updates
 * come from.
 *
 * electron-builder writes the feed into the packaged app as
 * `resources/app-update.yml` from MEGILANCE_UPDATE_URL (electron-builder.yml,
 * `publish`). An empty variable gives a feed without a URL: updates are off.
 * So electron-updater is started only when the app is packaged and that file
 * names an https URL; and, on Linux, only for installs that can replace
 * themselves (an AppImage, or a deb/rpm, for which electron-builder writes
 * `resources/package-type`; a tar.gz cannot).
 *
 * When on: a check at launch and every 6 hours, downloads in the
 * background, events logged, the state answered by `updates.status()`, and
 * a notification when an update is ready ("restart to update"; a click
 * restarts into it, otherwise it installs when the app quits).
 *
 * electron-updater needs Electron to load, so it is passed in
 * (`loadUpdater`, main.ts) and never imported here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DesktopUpdateStatus } from '../shared/desktop-api.ts';

export const UPDATE_CHECK_INTERVAL_MS = 6 * 60 * 60 * 1000;

export type UpdateFeed =
  { enabled: true; url: string } | { enabled: false; reason: 'no-feed' | 'not-configured'; detail: string };

/**
 * The update URL in app-update.yml, if it is an https URL. The file is the
 * few `key: value` lines electron-builder writes; only `url` is read.
 */
export function readUpdateFeed(resourcesPath: string): UpdateFeed {
  const file = join(resourcesPath, 'app-update.yml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { enabled: false, reason: 'no-feed', detail: `no ${file}` };
  }
  const line = /^url:[ \t]*(.*)$/m.exec(text)?.[1]?.trim() ?? '';
  const value = line.replace(/^(['"])(.*)\1$/, '$2').trim();
  if (value === '') return { enabled: false, reason: 'not-configured', detail: 'the build set no update URL' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { enabled: false, reason: 'not-configured', detail: `the update URL is not a URL` };
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') {
    return {
      enabled: false,
      reason: 'not-configured',
      detail: `the update URL must be plain https (got ${url.protocol})`,
    };
  }
  return { enabled: true, url: url.href };
}

/** The part of electron-updater's `autoUpdater` used here. */
export interface AppUpdaterLike {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  logger: UpdaterLogger | null;
  on(event: 'checking-for-update', listener: () => void): unknown;
  on(event: 'update-available' | 'update-not-available', listener: (info: { version: string }) => void): unknown;
  on(event: 'download-progress', listener: (progress: { percent: number }) => void): unknown;
  on(event: 'update-downloaded', listener: (info: { version: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  checkForUpdates(): Promise<unknown>;
  quitAndInstall(): void;
}

export interface UpdaterLogger {
  info(message?: unknown): void;
  warn(message?: unknown): void;
  error(message?: unknown): void;
  debug?(message: string): void;
}

export interface UpdateServiceOptions {
  /** Electron's `app.isPackaged`. */
  isPackaged: boolean;
  /** `process.resourcesPath`. */
  resourcesPath: string;
  platform: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Loads electron-updater's autoUpdater (only called when updates are on). */
  loadUpdater: () => AppUpdaterLike;
  /** "Restart to update": shows a notification whose click calls `restart`. */
  notifyDownloaded: (version: string, restart: () => void) => void;
  log?: (line: string) => void;
  intervalMs?: number;
  now?: () => number;
}

export interface UpdateService {
  status(): DesktopUpdateStatus;
  /** Checks now (also what the timer does); never throws (errors land in the status and the log). */
  check(): Promise<void>;
  stop(): void;
}

export function startUpdates(options: UpdateServiceOptions): UpdateService {
  const log = options.log ?? ((line: string) => console.warn(line));
  const off = (reason: Extract<DesktopUpdateStatus, { state: 'off' }>['reason'], detail: string): UpdateService => {
    log(`updates: off (${reason}: ${detail})`);
    const status: DesktopUpdateStatus = { state: 'off', reason };
    return { status: () => status, check: () => Promise.resolve(), stop: () => undefined };
  };

  if (!options.isPackaged) return off('development', 'not a packaged app');
  const feed = readUpdateFeed(options.resourcesPath);
  if (!feed.enabled) return off(feed.reason, feed.detail);
  if (
    options.platform === 'linux' &&
    options.env['APPIMAGE'] === undefined &&
    !existsSync(join(options.resourcesPath, 'package-type'))
  ) {
    return off('unsupported', 'this Linux install (not an AppImage, deb or rpm) cannot update itself');
  }

  const now = options.now ?? Date.now;
  const updater = options.loadUpdater();
  let status: Exclude<DesktopUpdateStatus, { state: 'off' }> = {
    state: 'idle',
    feedUrl: feed.url,
    version: null,
    percent: null,
    message: null,
    lastCheckedAt: null,
  };
  const set = (change: Partial<Omit<typeof status, 'feedUrl'>>) => {
    status = { ...status, ...change };
  };

  updater.autoDownload = true;
  updater.autoInstallOnAppQuit = true;
  updater.logger = {
    info: (message) => log(`updates: ${String(message)}`),
    warn: (message) => log(`updates: ${String(message)}`),
    error: (message) => log(`updates: ${String(message)}`),
  };
  updater.on('checking-for-update', () => set({ state: 'checking', message: null }));
  updater.on('update-not-available', () => set({ state: 'up-to-date', lastCheckedAt: now() }));
  updater.on('update-available', (info) => {
    log(`updates: ${info.version} is available; downloading`);
    set({ state: 'downloading', version: info.version, percent: 0, lastCheckedAt: now() });
  });
  updater.on('download-progress', (progress) => set({ state: 'downloading', percent: Math.round(progress.percent) }));
  updater.on('update-downloaded', (info) => {
    log(`updates: ${info.version} is downloaded; it installs on restart`);
    set({ state: 'downloaded', version: info.version, percent: 100 });
    options.notifyDownloaded(info.version, () => updater.quitAndInstall());
  });
  updater.on('error', (error) => {
    log(`updates: ${error.message}`);
    set({ state: 'error', message: error.message });
  });

  const check = async (): Promise<void> => {
    // Once downloaded, nothing newer is fetched until the restart.
    if (status.state === 'downloaded' || status.state === 'checking' || status.state === 'downloading') return;
    try {
      await updater.checkForUpdates();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`updates: the check failed: ${message}`);
      set({ state: 'error', message, lastCheckedAt: now() });
    }
  };
  log(`updates: on, from ${feed.url}`);
  void check();
  const timer = setInterval(() => void check(), options.intervalMs ?? UPDATE_CHECK_INTERVAL_MS);
  timer.unref();
  return { status: () => status, check, stop: () => clearInterval(timer) };
}
