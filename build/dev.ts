/**
 * `npm run dev`: the server (restarted by `node --watch` when its files
 * change) plus Vite's dev server with hot reload, which proxies /trpc to it.
 * Open http://localhost:5173/. Ctrl+C stops both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const port = process.env['MEGILANCE_PORT'] ?? '8420';
const children: ChildProcess[] = [
  spawn(process.execPath, ['--watch', join(root, 'server', 'cli.ts'), 'start'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MEGILANCE_PORT: port },
  }),
  spawn('npx', ['vite'], { cwd: root, stdio: 'inherit', env: { ...process.env, MEGILANCE_PORT: port } }),
];

let exiting = false;
function stopAll(code: number): void {
  if (exiting) return;
  exiting = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
}
for (const child of children) child.on('exit', (code) => stopAll(code ?? 0));
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
