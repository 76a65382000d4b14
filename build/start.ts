/**
 * `npm start` (after build/bootstrap.sh): builds what is stale, then opens
 * the desktop app — which starts its embedded server — or, where Electron
 * cannot run, starts the server and prints the URL of the same UI.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

export type ElectronAvailability = { ok: true; binary: string } | { ok: false; reason: string };

/** Where Electron can run: a binary (downloaded or ELECTRON_OVERRIDE_DIST_PATH) and a display. */
export function electronAvailability(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): ElectronAvailability {
  const pkg = join(root, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  const executable = existsSync(pathFile)
    ? readFileSync(pathFile, 'utf8').trim()
    : platform === 'win32'
      ? 'electron.exe'
      : 'electron';
  const override = env['ELECTRON_OVERRIDE_DIST_PATH'];
  const binary = override !== undefined && override !== '' ? join(override, executable) : join(pkg, 'dist', executable);
  if (!existsSync(binary)) {
    return {
      ok: false,
      reason:
        override !== undefined && override !== ''
          ? `no Electron binary at ${binary} (ELECTRON_OVERRIDE_DIST_PATH)`
          : 'the Electron binary is not installed (it could not be downloaded here; set ELECTRON_OVERRIDE_DIST_PATH to a local Electron)',
    };
  }
  if (platform === 'linux' && !env['DISPLAY'] && !env['WAYLAND_DISPLAY']) {
    return { ok: false, reason: 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)' };
  }
  return { ok: true, binary };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds dist/renderer when it is missing or older than its sources. */
export function ensureRendererBuilt(): void {
  const index = join(root, 'dist', 'renderer', 'index.html');
  const sources = Math.max(
    newestMtime(join(root, 'renderer')),
    newestMtime(join(root, 'shared')),
    statSync(join(root, 'vite.config.ts')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  console.error('[megilance] Building the user interface…');
  const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the renderer build failed (see above)');
}

function forwardSignals(child: ChildProcess): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function runDesktop(binary: string): void {
  const bundle = spawnSync(process.execPath, [join(root, 'build', 'bundle-electron.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (bundle.status !== 0) throw new Error('bundling the desktop app failed (see above)');
  console.error('[megilance] Opening the MegiLance desktop app…');
  forwardSignals(spawn(binary, [root], { cwd: root, stdio: 'inherit' }));
}

function runBrowserFallback(reason: string): void {
  const server = spawn(process.execPath, [join(root, 'server', 'cli.ts'), 'start'], {
    cwd: root,
    stdio: ['inherit', 'pipe', 'inherit'],
  });
  forwardSignals(server);
  let seen = '';
  let announced = false;
  server.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    process.stdout.write(chunk);
    if (announced) return;
    seen += chunk;
    const match = /MEGILANCE_SERVER_URL=(\S+)/.exec(seen);
    if (match) {
      announced = true;
      console.error(
        `\n[megilance] The desktop app cannot open here: ${reason}. Open MegiLance in your browser: ${match[1]}/\n`,
      );
    }
  });
}

if (import.meta.main) {
  try {
    ensureRendererBuilt();
    const electron = electronAvailability();
    if (electron.ok) runDesktop(electron.binary);
    else runBrowserFallback(electron.reason);
  } catch (error) {
    console.error(`[megilance] Could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
