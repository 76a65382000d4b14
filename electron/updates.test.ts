/**
 * Auto-update gating and behaviour: electron-updater (a fake standing in
 * for its autoUpdater) is loaded only for a packaged app whose
 * app-update.yml names an https URL, and on Linux only for installs that can
 * update themselves. app-update.yml here is the text electron-builder writes
 * (tests/packaging/package.test.ts checks the real one).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  readUpdateFeed,
  startUpdates,
  UPDATE_CHECK_INTERVAL_MS,
  type AppUpdaterLike,
  type UpdaterLogger,
} from './updates.ts';

const temporary: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A resources folder with app-update.yml as electron-builder writes it (`url: ''` when MEGILANCE_UPDATE_URL is empty). */
function resources(url: string | null, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'megilance-resources-'));
  temporary.push(dir);
  if (url !== null) {
    writeFileSync(
      join(dir, 'app-update.yml'),
      `provider: generic\nurl: ${url}\nchannel: latest\nupdaterCacheDirName: megilance-updater\n`,
    );
  }
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

class FakeUpdater extends EventEmitter implements AppUpdaterLike {
  autoDownload = false;
  autoInstallOnAppQuit = false;
  logger: UpdaterLogger | null = null;
  checks = 0;
  installs = 0;
  failNext: Error | null = null;
  checkForUpdates(): Promise<unknown> {
    this.checks++;
    if (this.failNext !== null) {
      const error = this.failNext;
      this.failNext = null;
      return Promise.reject(error);
    }
    this.emit('checking-for-update');
    return Promise.resolve(null);
  }
  quitAndInstall(): void {
    this.installs++;
  }
}

function start(options: {
  isPackaged?: boolean;
  resourcesPath: string;
  platform?: string;
  env?: Record<string, string>;
}) {
  const updater = new FakeUpdater();
  const loadUpdater = vi.fn(() => updater);
  const log: string[] = [];
  const downloaded: { version: string; restart: () => void }[] = [];
  const service = startUpdates({
    isPackaged: options.isPackaged ?? true,
    resourcesPath: options.resourcesPath,
    platform: options.platform ?? 'win32',
    env: options.env ?? {},
    loadUpdater,
    notifyDownloaded: (version, restart) => downloaded.push({ version, restart }),
    log: (line) => log.push(line),
    now: () => 1_700_000_000_000,
  });
  return { updater, loadUpdater, log, downloaded, service };
}

describe('readUpdateFeed', () => {
  it.each([
    ['https://updates.megilance.example/desktop', { enabled: true, url: 'https://updates.megilance.example/desktop' }],
    [
      "'https://updates.megilance.example/desktop'",
      { enabled: true, url: 'https://updates.megilance.example/desktop' },
    ],
    ["''", { enabled: false, reason: 'not-configured' }],
    ['', { enabled: false, reason: 'not-configured' }],
    ['http://updates.megilance.example/', { enabled: false, reason: 'not-configured' }],
    ['https://user:pw@updates.megilance.example/', { enabled: false, reason: 'not-configured' }],
    ['file:///tmp/updates', { enabled: false, reason: 'not-configured' }],
    ['not a url', { enabled: false, reason: 'not-configured' }],
  ])('url: %s', (url, expected) => {
    expect(readUpdateFeed(resources(url))).toMatchObject(expected);
  });

  it('no app-update.yml: no feed', () => {
    expect(readUpdateFeed(resources(null))).toMatchObject({ enabled: false, reason: 'no-feed' });
  });
});

describe('startUpdates gating', () => {
  it.each([
    ['a development run', { isPackaged: false, url: 'https://u.example/' }, 'development'],
    ['an empty MEGILANCE_UPDATE_URL', { url: "''" }, 'not-configured'],
    ['a plain http feed', { url: 'http://u.example/' }, 'not-configured'],
    ['no feed file', { url: null }, 'no-feed'],
    ['a Linux tar.gz install', { url: 'https://u.example/', platform: 'linux' }, 'unsupported'],
  ])('is off for %s, without loading electron-updater', (_what, { url, ...options }, reason) => {
    const { service, loadUpdater, log } = start({ ...options, resourcesPath: resources(url) });
    expect(service.status()).toEqual({ state: 'off', reason });
    expect(loadUpdater).not.toHaveBeenCalled();
    expect(log[0]).toMatch(/^updates: off/);
  });

  it('is on for an https feed; on Linux for an AppImage or a deb/rpm (package-type)', () => {
    expect(start({ resourcesPath: resources('https://u.example/') }).loadUpdater).toHaveBeenCalledOnce();
    const appImage = start({
      resourcesPath: resources('https://u.example/'),
      platform: 'linux',
      env: { APPIMAGE: '/x' },
    });
    expect(appImage.loadUpdater).toHaveBeenCalledOnce();
    appImage.service.stop();
    const deb = start({ resourcesPath: resources('https://u.example/', { 'package-type': 'deb' }), platform: 'linux' });
    expect(deb.loadUpdater).toHaveBeenCalledOnce();
    deb.service.stop();
  });
});

describe('startUpdates when on', () => {
  it('checks at launch and every 6 hours, downloads, and offers a restart when ready', async () => {
    vi.useFakeTimers();
    const { service, updater, downloaded, log } = start({ resourcesPath: resources('https://u.example/desktop') });
    expect(updater.autoDownload).toBe(true);
    expect(updater.autoInstallOnAppQuit).toBe(true);
    expect(updater.checks).toBe(1);
    expect(service.status()).toMatchObject({ state: 'checking', feedUrl: 'https://u.example/desktop' });

    updater.emit('update-not-available', { version: '0.1.0' });
    expect(service.status()).toMatchObject({ state: 'up-to-date', lastCheckedAt: 1_700_000_000_000 });
    await vi.advanceTimersByTimeAsync(UPDATE_CHECK_INTERVAL_MS);
    expect(updater.checks).toBe(2);

    updater.emit('update-available', { version: '0.2.0' });
    updater.emit('download-progress', { percent: 41.6 });
    expect(service.status()).toMatchObject({ state: 'downloading', version: '0.2.0', percent: 42 });
    updater.emit('update-downloaded', { version: '0.2.0' });
    expect(service.status()).toMatchObject({ state: 'downloaded', version: '0.2.0', percent: 100 });
    expect(downloaded.map((d) => d.version)).toEqual(['0.2.0']);
    // Nothing more is fetched until the restart; the notification's click restarts into it.
    await vi.advanceTimersByTimeAsync(UPDATE_CHECK_INTERVAL_MS);
    expect(updater.checks).toBe(2);
    downloaded[0]?.restart();
    expect(updater.installs).toBe(1);
    expect(log).toContain('updates: 0.2.0 is downloaded; it installs on restart');
    service.stop();
  });

  it('logs errors and says them in the status; the next check tries again', async () => {
    vi.useFakeTimers();
    const { service, updater, log } = start({ resourcesPath: resources('https://u.example/') });
    updater.emit('error', new Error('net::ERR_NAME_NOT_RESOLVED'));
    expect(service.status()).toMatchObject({ state: 'error', message: 'net::ERR_NAME_NOT_RESOLVED' });
    updater.failNext = new Error('HttpError: 404');
    await service.check();
    expect(service.status()).toMatchObject({ state: 'error', message: 'HttpError: 404' });
    expect(log.some((line) => line.includes('HttpError: 404'))).toBe(true);
    // electron-updater's own log lines go to ours.
    updater.logger?.info('Checking for update');
    expect(log).toContain('updates: Checking for update');
    service.stop();
  });
});
