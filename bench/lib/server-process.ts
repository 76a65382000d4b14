/**
 * Runs a server under test in its own Node process, so the load generator in
 * the bench process never competes with it for an event loop, and lets the
 * bench read that process's CPU time (the fairest per-request cost on a
 * machine where wall-clock throughput is noisy).
 *
 * Both halves of the IPC protocol live here: `startServerProcess` (bench
 * side) and `serveBenchControl` (fixture side).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type ToFixture = { type: 'cpu'; id: number } | { type: 'stop' };
type FromFixture =
  | { type: 'listening'; url: string; routes: Record<string, string> }
  | { type: 'cpu'; id: number; userMicros: number; systemMicros: number };

export interface CpuTime {
  userMicros: number;
  systemMicros: number;
}

export interface ServerProcess {
  url: string;
  /** What the fixture serves, by the names it chose (e.g. `{ bare: '/bench/bare/system.info' }`). */
  routes: Record<string, string>;
  pid: number;
  /** CPU time the server process has used since it started. */
  cpuTime(): Promise<CpuTime>;
  /** Closes the server, waits for the process to exit, removes its data dir. */
  stop(): Promise<void>;
}

const OUTPUT_KEPT = 16 * 1024;

/**
 * Forks `script` with a fresh data dir (`MEGILANCE_DATA_DIR`) and `env` on
 * top of this process's environment, and resolves once it reports listening.
 */
export async function startServerProcess(
  script: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'megilance-bench-'));
  const child = fork(script, [], {
    env: { ...process.env, MEGILANCE_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // Kept for error messages only; the pipes are drained so the child never blocks on them.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const cleanUp = (): void => rmSync(dataDir, { recursive: true, force: true });

  let listening: Extract<FromFixture, { type: 'listening' }>;
  try {
    listening = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not start within ${timeoutMs} ms`)), timeoutMs);
      child.on('message', (message: FromFixture) => {
        if (message.type === 'listening') {
          clearTimeout(timer);
          resolve(message);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with code ${code} before listening`));
      });
    });
  } catch (error) {
    child.kill();
    await exited;
    cleanUp();
    throw new Error(`${(error as Error).message}\n--- server output ---\n${output}`, { cause: error });
  }

  let nextId = 0;
  const pending = new Map<number, (time: CpuTime) => void>();
  child.on('message', (message: FromFixture) => {
    if (message.type !== 'cpu') return;
    pending.get(message.id)?.({ userMicros: message.userMicros, systemMicros: message.systemMicros });
    pending.delete(message.id);
  });
  const send = (message: ToFixture): void => {
    child.send(message);
  };

  let stopping: Promise<void> | undefined;
  return {
    url: listening.url,
    routes: listening.routes,
    pid: child.pid ?? -1,
    cpuTime: () =>
      new Promise<CpuTime>((resolve, reject) => {
        if (child.exitCode !== null) {
          reject(new Error(`server process exited (code ${child.exitCode})\n${output}`));
          return;
        }
        const id = nextId++;
        pending.set(id, resolve);
        send({ type: 'cpu', id });
      }),
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null) {
          send({ type: 'stop' });
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        cleanUp();
      })()),
  };
}

/**
 * Fixture side: answers CPU-time requests, stops on request (or when the
 * bench process disappears), and announces the address once listening.
 */
export function serveBenchControl(
  listening: { url: string; routes: Record<string, string> },
  stop: () => Promise<void>,
): void {
  let stopping = false;
  const stopOnce = (): void => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('message', (message: ToFixture) => {
    if (message.type === 'cpu') {
      const usage = process.cpuUsage();
      process.send?.({
        type: 'cpu',
        id: message.id,
        userMicros: usage.user,
        systemMicros: usage.system,
      } satisfies FromFixture);
    } else if (message.type === 'stop') {
      stopOnce();
    }
  });
  process.on('SIGTERM', stopOnce);
  // Ctrl-C reaches the whole process group: close cleanly rather than die mid-write.
  process.on('SIGINT', stopOnce);
  // The bench died without saying goodbye: do not linger as an orphan.
  process.on('disconnect', stopOnce);
  process.send?.({ type: 'listening', ...listening } satisfies FromFixture);
}
