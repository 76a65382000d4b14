/**
 * build/bundle-electron.ts: the four bundles exist, each imports only what
 * its runtime allows, the cache worker bundle opens a cache with
 * better-sqlite3 and answers, and the server bundle starts and serves.
 * Built into node_modules/.cache so the externals resolve as in the app.
 */
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleElectron,
  cacheWorkerExternals,
  serverExternals,
  trayIcons,
  type BundleResult,
} from '../build/bundle-electron.ts';
import { LocalCache } from './cache/local-cache.ts';
import { childServerProcess, embeddedServerEnv, launchEmbeddedServer } from './embedded-server.ts';

const root = resolve(import.meta.dirname, '..');
const cache = join(root, 'node_modules', '.cache');
let outDir: string;
let dataDir: string;
let bundles: BundleResult['outputs'];

beforeAll(async () => {
  mkdirSync(cache, { recursive: true });
  outDir = mkdtempSync(join(cache, 'megilance-bundle-test-'));
  dataDir = mkdtempSync(join(tmpdir(), 'megilance-bundle-data-'));
  ({ outputs: bundles } = await bundleElectron(outDir));
}, 60_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

const draft = (id: string) => ({
  id,
  kind: 'note' as const,
  subjectRef: null,
  title: 'Draft',
  body: 'text',
  version: 1,
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_000_000,
});

const isNodeBuiltin = (specifier: string): boolean =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] ?? specifier);

/** What a bundle still loads at run time, as esbuild recorded it. */
function loads(...path: string[]): string[] {
  const file = join(outDir, ...path);
  const bundle = bundles.find((output) => output.file === file);
  if (bundle === undefined) throw new Error(`no bundle ${file}; got ${bundles.map((b) => b.file).join(', ')}`);
  return bundle.loads;
}

describe('bundle-electron', () => {
  it('the sandboxed preload requires nothing but electron, as CommonJS', () => {
    expect(loads('electron', 'preload.cjs')).toEqual(['electron']);
    const code = readFileSync(join(outDir, 'electron', 'preload.cjs'), 'utf8');
    expect(code).toContain('require("electron")');
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).toContain('exposeInMainWorld("megilance"');
  });

  it('main loads only electron and Node built-ins (everything else is inside)', () => {
    const specifiers = loads('electron', 'main.js');
    expect(specifiers).toContain('electron');
    expect(specifiers.filter((s) => s !== 'electron' && !isNodeBuiltin(s))).toEqual([]);
  });

  it('the cache worker is its own ESM bundle leaving only better-sqlite3 and Node built-ins outside', () => {
    const outside = loads('electron', 'cache-worker.mjs').filter((s) => !isNodeBuiltin(s));
    expect(outside).toEqual(cacheWorkerExternals);
    const code = readFileSync(join(outDir, 'electron', 'cache-worker.mjs'), 'utf8');
    expect(code).toMatch(/^import .* from "better-sqlite3";$/m);
    // Nothing of main's (classic zod, shared/ schemas, tRPC) came in with it.
    expect(code).not.toContain('createTRPCUntypedClient');
  });

  it('the bundled cache worker loads better-sqlite3, opens a cache file and answers', async () => {
    const directory = mkdtempSync(join(dataDir, 'cache-'));
    const cache = await LocalCache.open({
      directory,
      serverOrigin: 'https://megilance.example.com',
      accountId: 'bundle-user',
      workerUrl: pathToFileURL(join(outDir, 'electron', 'cache-worker.mjs')),
    });
    try {
      expect(cache.migrated.length).toBeGreaterThan(0);
      await cache.putRecords([
        { kind: 'draft', id: 'd1', payload: draft('d1') },
        { kind: 'job', id: 'j1', payload: { title: 'Logo design' } },
      ]);
      expect(await cache.getRecord('job', 'j1')).toMatchObject({ payload: { title: 'Logo design' } });
      const stats = await cache.stats();
      expect(stats.records).toEqual({ draft: 1, job: 1 });
      // The worker parses requests (zod/mini with its English messages bundled in).
      await expect(cache.getRecord('job', '')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    } finally {
      await cache.destroy();
    }
    expect(existsSync(cache.file)).toBe(false);
  });

  it('copies the tray icons', () => {
    for (const name of Object.keys(trayIcons)) {
      expect(existsSync(join(outDir, 'electron', 'icons', name)), name).toBe(true);
    }
  });

  it('the server leaves only the declared externals outside', () => {
    const outside = loads('server', 'cli.js').filter((s) => !isNodeBuiltin(s));
    expect(outside).toEqual(expect.arrayContaining(['better-sqlite3', 'pino']));
    for (const specifier of outside) expect(serverExternals).toContain(specifier);
  });

  it('the server bundle starts, serves /healthz and drains', async () => {
    const server = await launchEmbeddedServer({
      spawn: ({ env, cwd }) =>
        childServerProcess(
          spawn(process.execPath, [join(outDir, 'server', 'cli.js'), 'start'], {
            env,
            cwd,
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        ),
      env: embeddedServerEnv({}, { userDataDir: dataDir, rendererDir: join(dataDir, 'renderer') }),
      cwd: dataDir,
    });
    try {
      const health = await fetch(`${server.url}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
