/**
 * `node build/bundle-electron.ts` (npm run build:electron): esbuild bundles
 * for the desktop app, next to the renderer Vite builds into dist/renderer.
 *
 *   electron/main.ts    → dist/electron/main.js     ESM, Node (Electron's main process)
 *   electron/preload.ts → dist/electron/preload.cjs CJS, sandboxed: may require only 'electron'
 *   server/cli.ts       → dist/server/cli.js        ESM, Node 22 (the embedded server's utility process)
 *
 * Packages with native code or files loaded at run time stay external and
 * ship in node_modules (electron-builder's `files`): better-sqlite3 (a .node
 * addon), @node-rs/argon2 (a .node addon per platform), geoip-lite (reads its
 * data files by path), pino and pino-pretty (transports run in worker threads
 * that load files by path), pg-native (optional, not installed).
 */
import { mkdirSync } from 'node:fs';
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
      console.log(`  ${relative(root, file).padEnd(28)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB`);
    }
  } catch (error) {
    // esbuild has already printed the errors with their locations.
    console.error(`bundle-electron: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    process.exitCode = 1;
  }
}
