/**
 * `node build/bundle-electron.ts` (npm run build:electron): esbuild bundles
 * for the desktop app, next to the renderer Vite builds into dist/renderer.
 *
 *   electron/main.ts         → dist/electron/main.js          ESM, Node (Electron's main process)
 *   electron/preload.ts      → dist/electron/preload.cjs      CJS, sandboxed: may require only 'electron'
 *   electron/cache/worker.ts → dist/electron/cache-worker.mjs ESM, the local cache's worker thread
 *   server/cli.ts            → dist/server/cli.js             ESM, Node 22 (the embedded server's utility process)
 *   build/icons/*.png        → dist/electron/icons/tray*.png  the tray and notification icon
 *
 * The cache worker keeps better-sqlite3 external (a .node addon) and is
 * `.mjs` so it is ESM wherever it lies: packaged, it runs from
 * app.asar.unpacked (electron-builder.yml `asarUnpack`), where no
 * package.json says "type": "module".
 *
 * Packages with native code or files loaded at run time stay external and
 * ship in node_modules (electron-builder's `files`): better-sqlite3 (a .node
 * addon), @node-rs/argon2 (a .node addon per platform), geoip-lite (reads its
 * data files by path), pino and pino-pretty (transports run in worker threads
 * that load files by path), pg-native (optional, not installed).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const root = resolve(import.meta.dirname, '..');

/** Never bundled: see the header. Kept in one list so electron-builder's `files` can be checked against it. */
export const serverExternals = [
  'better-sqlite3',
  '@node-rs/argon2',
  'geoip-lite',
  'pg-native',
  'pino',
  'pino-pretty',
  'bufferutil',
  'utf-8-validate',
];

/** What the cache worker leaves outside its bundle (a native addon, loaded from node_modules). */
export const cacheWorkerExternals = ['better-sqlite3'];

/** The tray icons (dist/electron/icons/<name> ← build/icons/<size>.png); `@2x` for high-density screens. */
export const trayIcons: Readonly<Record<string, string>> = {
  'tray.png': '32x32.png',
  'tray@2x.png': '64x64.png',
  // macOS menu bar: 16 pt.
  'tray-16.png': '16x16.png',
  'tray-16@2x.png': '32x32.png',
};

/** ESM bundles of CommonJS packages still call require() for Node built-ins; give them one. */
const requireShim = [
  "import { createRequire as __megilanceCreateRequire } from 'node:module';",
  'const require = __megilanceCreateRequire(import.meta.url);',
].join('\n');

export interface BundleResult {
  /** Each bundle, with the modules it still loads at run time (Node built-ins and externals). */
  outputs: { file: string; bytes: number; loads: string[] }[];
}

export async function bundleElectron(outDir: string = join(root, 'dist')): Promise<BundleResult> {
  const common: BuildOptions = {
    absWorkingDir: root,
    bundle: true,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    legalComments: 'eof',
  };
  const targets: BuildOptions[] = [
    {
      ...common,
      entryPoints: [join(root, 'electron', 'main.ts')],
      outfile: join(outDir, 'electron', 'main.js'),
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: ['electron'],
      banner: { js: requireShim },
    },
    {
      ...common,
      entryPoints: [join(root, 'electron', 'preload.ts')],
      outfile: join(outDir, 'electron', 'preload.cjs'),
      // A sandboxed preload has no Node: 'browser' makes any Node import a build error.
      platform: 'browser',
      format: 'cjs',
      target: 'chrome130',
      external: ['electron'],
    },
    {
      ...common,
      entryPoints: [join(root, 'electron', 'cache', 'worker.ts')],
      outfile: join(outDir, 'electron', 'cache-worker.mjs'),
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: cacheWorkerExternals,
      banner: { js: requireShim },
    },
    {
      ...common,
      entryPoints: [join(root, 'server', 'cli.ts')],
      outfile: join(outDir, 'server', 'cli.js'),
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: serverExternals,
      banner: { js: requireShim },
    },
  ];
  const outputs: BundleResult['outputs'] = [];
  for (const options of targets) {
    if (options.outfile !== undefined) mkdirSync(dirname(options.outfile), { recursive: true });
    const result = await build(options);
    outputs.push(...bundleSizes(result.metafile));
  }
  const iconDir = join(outDir, 'electron', 'icons');
  mkdirSync(iconDir, { recursive: true });
  for (const [name, source] of Object.entries(trayIcons))
    copyFileSync(join(root, 'build', 'icons', source), join(iconDir, name));
  return { outputs };
}

function bundleSizes(metafile: Metafile | undefined): BundleResult['outputs'] {
  if (metafile === undefined) return [];
  return Object.entries(metafile.outputs)
    .filter(([file]) => !file.endsWith('.map'))
    .map(([file, output]) => ({
      file: resolve(root, file),
      bytes: output.bytes,
      loads: [...new Set(output.imports.filter((entry) => entry.external).map((entry) => entry.path))].sort(),
    }));
}

if (import.meta.main) {
  try {
    const { outputs } = await bundleElectron();
    for (const { file, bytes } of outputs) {
      console.log(`  ${relative(root, file).padEnd(32)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB`);
    }
  } catch (error) {
    // esbuild has already printed the errors with their locations.
    console.error(`bundle-electron: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    process.exitCode = 1;
  }
}
