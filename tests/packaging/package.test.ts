/**
 * The packaging step, run here for real against a placeholder Electron.
 *
 * Electron's binary cannot be downloaded on the build machines, but
 * electron-builder only copies it: given `-c.electronDist=<folder with an
 * "electron" file>` it runs the whole packaging of electron-builder.yml
 * (files, asar, unpacking, publish config, the Linux tar.gz) with that file
 * in Electron's place. So this checks what goes into a real installer: the
 * app's bundles, only the node_modules still loaded at run time, native
 * addons outside the asar, the cache worker and better-sqlite3 unpacked (the
 * worker runs from there), the SFU worker binary beside the asar, no source
 * maps, sources or tests; the desktop
 * entry with the megilance:// handler; the update feed; and, from the
 * packaged files, that the server starts, hashes a password with argon2
 * and serves the UI, and that keytar loads.
 *
 * Real installers (nsis, dmg/zip, AppImage, deb) are built where Electron
 * and electron-builder's tools can be downloaded: build/README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverExternals } from '../../build/bundle-electron.ts';
import { LINUX_ICON_SIZES, MAIN_ICON_SIZE } from '../../build/make-icon.ts';
import { LocalCache } from '../../electron/cache/local-cache.ts';
import { packagedMediasoupWorker, unpackedPath } from '../../electron/desktop-app.ts';
import { childServerProcess, embeddedServerEnv, launchEmbeddedServer } from '../../electron/embedded-server.ts';
import { apiClient } from '../support/api.ts';

const root = resolve(import.meta.dirname, '..', '..');
const requireFromRoot = createRequire(join(root, 'package.json'));
const asar = requireFromRoot('@electron/asar') as {
  listPackage(archive: string, options?: { isPack: boolean }): string[];
  statFile(archive: string, filename: string): { unpacked?: boolean; size?: number };
  extractFile(archive: string, filename: string): Buffer;
  extractAll(archive: string, dest: string): void;
};

const UPDATE_URL = 'https://updates.megilance.example/desktop';
const sevenZip = '/usr/bin/7za';
const platformArch = `${process.platform}-${process.arch}`;

/**
 * What main loads from node_modules at run time, besides its bundle: keytar
 * (electron/credentials.ts requires it by name) and electron-updater (the
 * auto-update publish config is for it). The server bundle's are serverExternals.
 */
const MAIN_RUNTIME_PACKAGES = ['keytar', 'electron-updater'];
/** Dependencies only needed to compile or install an addon, never loaded by it. */
const INSTALL_TIME_ONLY = new Set(['node-addon-api', 'prebuild-install']);

interface Build {
  out: string;
  resources: string;
  archive: string;
  entries: string[];
  desktopEntry: string | undefined;
  tarball: string | undefined;
}

const work = mkdtempSync(join(tmpdir(), 'megilance-packaging-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const timings: string[] = [];
async function timed<T>(label: string, step: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  try {
    return await step();
  } finally {
    timings.push(`${label} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`packaging: ${label} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** Node 24 first on PATH: npm scripts and electron-builder's helpers run `node`. */
const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
  delete base['MEGILANCE_UPDATE_URL'];
  return { ...base, ...extra };
};

function run(command: string, args: string[], extraEnv: Record<string, string | undefined>, timeoutMs: number) {
  return new Promise<{ code: number | null; output: string }>((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: root, env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

/** A placeholder for Electron's unpacked distribution: electron-builder copies it and renames the executable. */
function placeholderElectron(): string {
  const dir = join(work, 'electron-dist');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'electron'), '#!/bin/sh\necho "placeholder for the Electron binary (packaging check)"\n');
  chmodSync(join(dir, 'electron'), 0o755);
  return dir;
}

/** `electron-builder --linux <targets>` with this repository's config and the placeholder Electron. */
async function electronBuilder(name: string, targets: string[], extraArgs: string[], extraEnv: Record<string, string>) {
  const out = join(work, name);
  const result = await run(
    process.execPath,
    [
      join(root, 'node_modules', 'electron-builder', 'cli.js'),
      '--linux',
      ...targets,
      `-c.electronDist=${placeholderElectron()}`,
      '-c.npmRebuild=false',
      '--publish',
      'never',
      `-c.directories.output=${out}`,
      ...extraArgs,
    ],
    extraEnv,
    150_000,
  );
  return { out, ...result };
}

let build: Build;

beforeAll(async () => {
  const needed = [
    'dist/electron/main.js',
    'dist/electron/preload.cjs',
    'dist/electron/cache-worker.mjs',
    'dist/electron/icons/tray.png',
    'dist/renderer/index.html',
    'dist/server/cli.js',
  ];
  if (needed.some((file) => !existsSync(join(root, file)))) {
    await timed('npm run build (dist/ was missing)', async () => {
      const built = await run('npm', ['run', 'build'], {}, 180_000);
      if (built.code !== 0)
        throw new Error(`npm run build failed; packaging needs dist/:\n${built.output.slice(-4000)}`);
    });
  }
  const targets = existsSync(sevenZip) ? ['dir', 'tar.gz'] : ['dir'];
  if (!existsSync(sevenZip)) {
    console.warn(
      `packaging: ${sevenZip} not found (Debian package p7zip-full): checking the dir target only, no tar.gz`,
    );
  }
  const desktopEntryFile = join(work, 'megilance.desktop');
  const result = await timed(`electron-builder --linux ${targets.join(' ')}`, () =>
    electronBuilder(
      'release',
      targets,
      // The tar.gz is stored, not compressed: the check is about its contents (7-Zip's gzip takes a minute here).
      ['-c.compression=store', '-c.afterPack=tests/packaging/desktop-entry-hook.ts'],
      {
        MEGILANCE_UPDATE_URL: UPDATE_URL,
        ELECTRON_BUILDER_7ZIP_PATH: sevenZip,
        MEGILANCE_DESKTOP_ENTRY_OUT: desktopEntryFile,
      },
    ),
  );
  if (result.code !== 0) throw new Error(`electron-builder failed (exit ${String(result.code)}):\n${result.output}`);
  const resources = join(result.out, 'linux-unpacked', 'resources');
  const archive = join(resources, 'app.asar');
  build = {
    out: result.out,
    resources,
    archive,
    entries: asar.listPackage(archive),
    desktopEntry: existsSync(desktopEntryFile) ? readFileSync(desktopEntryFile, 'utf8') : undefined,
    tarball: targets.includes('tar.gz') ? join(result.out, 'megilance-0.1.0.tar.gz') : undefined,
  };
}, 300_000);

afterAll(() => {
  if (timings.length > 0) console.log(`packaging timings: ${timings.join(', ')}`);
});

/** The node_modules packages loaded at run time and everything they need, from package-lock.json. */
function runtimePackages(): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<
      string,
      { dev?: boolean; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
    >;
  };
  const resolveFrom = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (candidate in lock.packages) return candidate;
      if (base === '') return undefined;
      const index = base.lastIndexOf('/node_modules/');
      base = index < 0 ? '' : base.slice(0, index);
    }
  };
  /** Installed here and a production dependency (dev tools such as pino-pretty are never shipped). */
  const shipped = (path: string): boolean => lock.packages[path]?.dev !== true && existsSync(join(root, path));
  const roots = [...MAIN_RUNTIME_PACKAGES, ...serverExternals]
    .map((name) => `node_modules/${name}`)
    // Optional externals that are not installed (pg-native, bufferutil) or only for development load nothing.
    .filter(shipped);
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const path = stack.pop();
    if (path === undefined || seen.has(path)) continue;
    seen.add(path);
    const entry = lock.packages[path];
    for (const name of Object.keys({ ...entry?.dependencies, ...entry?.optionalDependencies })) {
      if (INSTALL_TIME_ONLY.has(name)) continue;
      const dependency = resolveFrom(path, name);
      // Optional platform packages (@node-rs/argon2-<platform>) exist only for the platform installed on.
      if (dependency !== undefined && shipped(dependency)) stack.push(dependency);
    }
  }
  // Top-level packages only: nested ones (electron-updater/node_modules/semver) come with their parent.
  return [...seen]
    .filter((path) => /^node_modules\/(?:@[^/]+\/)?[^/]+$/.test(path))
    .map((path) => path.slice('node_modules/'.length))
    .sort();
}

function packagedTopLevelPackages(entries: string[]): string[] {
  const names = new Set<string>();
  for (const entry of entries) {
    const match = /^\/node_modules\/(@[^/]+\/[^/]+|[^@/][^/]*)(?:\/|$)/.exec(entry);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return [...names].sort();
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const data = readFileSync(file);
  if (data.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${file} is not a PNG`);
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

describe('the packaged app (electron-builder --linux against a placeholder Electron)', () => {
  it('app.asar holds the built app: main, preload, UI, server, and a package.json whose main exists', () => {
    const files = new Set(build.entries);
    for (const file of [
      '/dist/electron/main.js',
      '/dist/electron/preload.cjs',
      '/dist/renderer/index.html',
      '/dist/server/cli.js',
      '/package.json',
    ]) {
      expect(files, file).toContain(file);
    }
    const manifest = JSON.parse(asar.extractFile(build.archive, 'package.json').toString('utf8')) as {
      main: string;
      desktopName?: string;
      devDependencies?: unknown;
      scripts?: unknown;
    };
    expect(manifest.main).toBe('dist/electron/main.js');
    expect(files).toContain(`/${manifest.main}`);
    expect(manifest.desktopName).toBe('megilance.desktop');
    expect(manifest.devDependencies).toBeUndefined();
  });

  it('holds no source maps, no TypeScript or renderer sources, no tests, and nothing of the repository but dist/', () => {
    const unwanted = build.entries.filter(
      (entry) =>
        /\.(?:map|tsx?|mts|cts)$/.test(entry) ||
        /\/(?:tests?|__tests__|benchmarks?|examples?|docs)(?:\/|$)/.test(entry) ||
        /\.(?:test|spec)\.[cm]?js$/.test(entry),
    );
    expect(unwanted).toEqual([]);
    const outsideModules = build.entries.filter((entry) => !entry.startsWith('/node_modules'));
    expect(outsideModules.filter((entry) => !entry.startsWith('/dist') && entry !== '/package.json')).toEqual([]);
    for (const folder of ['/renderer', '/electron', '/server', '/shared', '/build', '/tests', '/src']) {
      expect(
        build.entries.some((entry) => entry === folder || entry.startsWith(`${folder}/`)),
        folder,
      ).toBe(false);
    }
  });

  it('ships exactly the node_modules loaded at run time (bundled packages stay out)', () => {
    const packaged = packagedTopLevelPackages(build.entries);
    const expected = runtimePackages();
    const missing = expected.filter((name) => !packaged.includes(name));
    const extra = packaged.filter((name) => !expected.includes(name));
    // A difference means electron-builder.yml's `files` list and the dependencies disagree: update the list.
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    for (const bundled of ['react', 'react-dom', 'zod', 'fastify', '@trpc/server', 'superjson', 'kysely']) {
      expect(packaged).not.toContain(bundled);
    }
  });

  it('unpacks every native addon next to the asar: keytar, better-sqlite3 (this platform only), argon2', () => {
    const unpacked = join(build.resources, 'app.asar.unpacked', 'node_modules');
    const addons = [
      'keytar/build/Release/keytar.node',
      `better-sqlite3/prebuilds/${platformArch}.node`,
      `@node-rs/argon2-linux-x64-gnu/argon2.linux-x64-gnu.node`,
    ];
    for (const addon of addons) {
      expect(existsSync(join(unpacked, addon)), addon).toBe(true);
      expect(asar.statFile(build.archive, `node_modules/${addon}`).unpacked, addon).toBe(true);
    }
    // No .node file is left inside the archive, and no other platform's prebuilt addon is shipped.
    const nodeFiles = build.entries.filter((entry) => entry.endsWith('.node'));
    expect(nodeFiles.filter((entry) => asar.statFile(build.archive, entry.slice(1)).unpacked !== true)).toEqual([]);
    expect(nodeFiles.map((entry) => entry.replace(/^\/node_modules\//, '')).sort()).toEqual([...addons].sort());
    // geoip-lite opens its data with fs.open: unpacked, so Electron need not copy 110 MB out of the asar.
    expect(asar.statFile(build.archive, 'node_modules/geoip-lite/data/geoip-city.dat').unpacked).toBe(true);
  });

  it('unpacks the cache worker and all of better-sqlite3, and the worker runs from app.asar.unpacked', async () => {
    const archived = join(build.resources, 'app.asar', 'dist', 'electron', 'cache-worker.mjs');
    const worker = unpackedPath(archived);
    expect(worker).toBe(join(build.resources, 'app.asar.unpacked', 'dist', 'electron', 'cache-worker.mjs'));
    expect(asar.statFile(build.archive, 'dist/electron/cache-worker.mjs').unpacked).toBe(true);
    expect(existsSync(worker)).toBe(true);
    for (const file of ['package.json', 'lib/index.js', 'lib/database.js', 'lib/binding.js']) {
      expect(asar.statFile(build.archive, `node_modules/better-sqlite3/${file}`).unpacked, file).toBe(true);
    }
    // Node stands in for Electron's worker thread: the unpacked tree alone (no asar support) must do.
    const directory = mkdtempSync(join(work, 'cache-'));
    const cache = await LocalCache.open({
      directory,
      serverOrigin: 'http://127.0.0.1',
      accountId: 'packaged-user',
      workerUrl: pathToFileURL(worker),
    });
    try {
      await cache.putRecords([{ kind: 'job', id: 'j1', payload: { title: 'Logo' } }]);
      expect((await cache.getRecord('job', 'j1'))?.payload).toEqual({ title: 'Logo' });
      expect((await cache.stats()).records).toEqual({ job: 1 });
    } finally {
      await cache.destroy();
    }
  });

  it('ships the SFU worker binary, executable, outside the asar (where the app points MEDIASOUP_WORKER_BIN)', () => {
    const built = join(root, 'node_modules', 'mediasoup', 'worker', 'out', 'Release', 'mediasoup-worker');
    if (!existsSync(built)) {
      console.warn(`packaging: ${built} is not built here (the mediasoup worker step): not checking that it ships`);
      return;
    }
    const shipped = packagedMediasoupWorker(build.resources, 'linux');
    expect(existsSync(shipped)).toBe(true);
    expect(statSync(shipped).mode & 0o111).not.toBe(0);
    expect(build.entries.some((entry) => entry.endsWith('/mediasoup-worker'))).toBe(false);
  });

  it('ships the tray icons beside main', () => {
    for (const icon of ['tray.png', 'tray@2x.png', 'tray-16.png', 'tray-16@2x.png']) {
      expect(build.entries, icon).toContain(`/dist/electron/icons/${icon}`);
    }
  });

  it('registers megilance:// in the Linux desktop entry', () => {
    expect(build.desktopEntry).toBeDefined();
    expect(build.desktopEntry).toMatch(/^MimeType=.*x-scheme-handler\/megilance;/m);
    expect(build.desktopEntry).toMatch(/^Exec=.*megilance %U$/m);
    expect(build.desktopEntry).toMatch(/^Name=MegiLance$/m);
    expect(build.desktopEntry).toMatch(/^StartupWMClass=megilance$/m);
    expect(build.desktopEntry).toMatch(/^Categories=Office;$/m);
  });

  it('writes the update feed (generic provider) from MEGILANCE_UPDATE_URL', () => {
    const feed = readFileSync(join(build.resources, 'app-update.yml'), 'utf8');
    expect(feed).toMatch(/^provider: generic$/m);
    expect(feed).toContain(`url: ${UPDATE_URL}`);
  });

  it('the tar.gz holds the same app', () => {
    if (build.tarball === undefined) {
      console.warn('packaging: no tar.gz was built (7za missing)');
      return;
    }
    const listing = spawnSync('tar', ['tzf', build.tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(listing.status).toBe(0);
    const files = listing.stdout.split('\n');
    for (const file of [
      'megilance-0.1.0/megilance',
      'megilance-0.1.0/resources/app.asar',
      'megilance-0.1.0/resources/app-update.yml',
      'megilance-0.1.0/resources/app.asar.unpacked/node_modules/keytar/build/Release/keytar.node',
    ]) {
      expect(files, file).toContain(file);
    }
  });

  it('runs from the packaged files: the server starts, hashes with argon2, serves the UI; keytar loads', async () => {
    const app = join(work, 'app');
    // extractAll also copies the unpacked files back in place, so this is the tree Electron sees.
    await timed('extract app.asar', () => asar.extractAll(build.archive, app));
    const dataDir = join(work, 'user-data');
    mkdirSync(dataDir, { recursive: true });
    const server = await timed('start the packaged server', () =>
      launchEmbeddedServer({
        spawn: ({ env: serverEnv, cwd }) =>
          childServerProcess(
            spawn(process.execPath, [join(app, 'dist', 'server', 'cli.js'), 'start'], {
              env: serverEnv,
              cwd,
              stdio: ['ignore', 'pipe', 'pipe'],
            }),
          ),
        env: embeddedServerEnv(
          {},
          {
            userDataDir: dataDir,
            rendererDir: join(app, 'dist', 'renderer'),
            mediasoupWorkerBin: packagedMediasoupWorker(build.resources, process.platform),
          },
        ),
        cwd: dataDir,
      }),
    );
    try {
      expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="root">|<script type="module"/);
      // Sign-up hashes the password with @node-rs/argon2 and writes with better-sqlite3, both from the package.
      const answer = await apiClient(server.url).auth.signUp.mutate({
        email: `packaged-${Date.now()}@example.com`,
        password: 'correct horse battery staple',
        displayName: 'Packaged',
      });
      expect(answer.status).toBe('verification_sent');
    } finally {
      await server.stop();
    }
    const keytar = createRequire(join(app, 'package.json'))('keytar') as Record<string, unknown>;
    expect(typeof keytar['getPassword']).toBe('function');
    expect(typeof keytar['setPassword']).toBe('function');
  }, 60_000);
});

describe('the update feed when it is not configured', () => {
  it('an unset MEGILANCE_UPDATE_URL stops the build naming it; an empty one gives a feed without a URL (updates off)', async () => {
    const unset = await timed('electron-builder without MEGILANCE_UPDATE_URL', () =>
      electronBuilder('no-url', ['dir'], [], {}),
    );
    expect(unset.code).not.toBe(0);
    expect(unset.output).toMatch(/env MEGILANCE_UPDATE_URL is not defined/);

    const off = await timed('electron-builder with MEGILANCE_UPDATE_URL empty', () =>
      electronBuilder('updates-off', ['dir'], [], { MEGILANCE_UPDATE_URL: '' }),
    );
    expect(off.code, off.output).toBe(0);
    const feed = readFileSync(join(off.out, 'linux-unpacked', 'resources', 'app-update.yml'), 'utf8');
    expect(feed).toMatch(/^provider: generic$/m);
    expect(feed).toMatch(/^url: ''$/m);
  }, 180_000);
});

describe('icons', () => {
  it('build/icon.png is 1024×1024 and build/icons/ has the Linux sizes, each as its name says', () => {
    expect(pngSize(join(root, 'build', 'icon.png'))).toEqual({ width: MAIN_ICON_SIZE, height: MAIN_ICON_SIZE });
    for (const size of LINUX_ICON_SIZES) {
      expect(pngSize(join(root, 'build', 'icons', `${size}x${size}.png`))).toEqual({ width: size, height: size });
    }
    expect(readFileSync(join(root, 'build', 'icon.svg'), 'utf8')).toContain('<svg');
  });
});
