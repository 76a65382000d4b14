/**
 * Starts and stops the MegiLance server the desktop app runs for itself.
 *
 * The contract with the server is its CLI's (server/cli.ts): configuration
 * through the environment, and one line `MEGILANCE_SERVER_URL=<url>` on
 * stdout once it listens; SIGTERM makes it drain and exit. This module knows
 * nothing of Electron: it takes a spawn function, so the app hands it
 * `utilityProcess.fork` and the tests hand it Node's child_process, running
 * the real server both ways.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const SERVER_URL_PREFIX = 'MEGILANCE_SERVER_URL=';

/** A running server process, whatever started it. */
export interface ServerProcess {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  /** Asks it to drain and exit (SIGTERM on POSIX). */
  terminate(): void;
  /** Ends it at once (SIGKILL). */
  forceKill(): void;
  /** Called once, when the process has ended; `code` is null when a signal ended it. */
  onExit(listener: (code: number | null) => void): void;
}

export interface ServerSpawnOptions {
  env: Record<string, string>;
  cwd: string;
}

export type SpawnServer = (options: ServerSpawnOptions) => ServerProcess;

export interface EmbeddedServerEnvOptions {
  /** The app's per-user folder (Electron's userData); the database lives in <userDataDir>/data. */
  userDataDir: string;
  /** The built UI the server serves at / (dist/renderer). */
  rendererDir: string;
  /**
   * The SFU's worker binary, for a packaged app (electron-builder.yml ships it
   * to `resources/mediasoup/`). The server bundle contains mediasoup's
   * JavaScript but not its node_modules folder, where mediasoup looks for the
   * binary by default (and, not finding the package, fails as it loads), so
   * the packaged app always names it. A MEDIASOUP_WORKER_BIN the user set wins.
   */
  mediasoupWorkerBin?: string;
}

/**
 * The environment of the embedded server: the user's environment, minus a
 * DATABASE_URL (the embedded server always uses its own SQLite file; to use
 * PostgreSQL run a server and point MEGILANCE_SERVER_URL at it), plus a free
 * loopback port and the app's data folder.
 *
 * NODE_ENV is not forced to production: the server then requires
 * MEGILANCE_PUBLIC_URL, which cannot be known before a port-0 listen. The
 * embedded server runs on the server's one-machine defaults.
 */
export function embeddedServerEnv(
  base: Readonly<Record<string, string | undefined>>,
  options: EmbeddedServerEnvOptions,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && name !== 'DATABASE_URL') env[name] = value;
  }
  return {
    ...env,
    MEGILANCE_HOST: '127.0.0.1',
    MEGILANCE_PORT: '0',
    MEGILANCE_DATA_DIR: join(options.userDataDir, 'data'),
    MEGILANCE_RENDERER_DIR: options.rendererDir,
    // JSON lines, for the log file; pino-pretty is not shipped with the app.
    LOG_PRETTY: 'false',
    ...(options.mediasoupWorkerBin === undefined || env['MEDIASOUP_WORKER_BIN'] !== undefined
      ? {}
      : { MEDIASOUP_WORKER_BIN: options.mediasoupWorkerBin }),
  };
}

/** The URL from a `MEGILANCE_SERVER_URL=` line, if this is one and the URL is http(s). */
export function parseServerUrlLine(line: string): string | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith(SERVER_URL_PREFIX)) return undefined;
  try {
    const url = new URL(trimmed.slice(SERVER_URL_PREFIX.length));
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export type EmbeddedServerFailure = 'exited' | 'timeout' | 'spawn-failed';

export class EmbeddedServerError extends Error {
  readonly failure: EmbeddedServerFailure;
  /** The last lines the server wrote, for the error dialog and the log. */
  readonly outputTail: string[];

  constructor(failure: EmbeddedServerFailure, message: string, outputTail: string[], options?: ErrorOptions) {
    const tail = outputTail.length > 0 ? `\n\nLast output:\n${outputTail.join('\n')}` : '';
    super(message + tail, options);
    this.name = 'EmbeddedServerError';
    this.failure = failure;
    this.outputTail = outputTail;
  }
}

export interface LaunchOptions extends ServerSpawnOptions {
  spawn: SpawnServer;
  /** How long to wait for the URL line (first start migrates the database). Default 30 s. */
  startTimeoutMs?: number;
  /** How long stop() waits for the drain before killing. Default 15 s (the server's own grace is 10 s). */
  stopTimeoutMs?: number;
  /** Every line the server writes, e.g. to a log file. */
  onOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface EmbeddedServer {
  /** Origin the server listens on, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly pid: number | undefined;
  /** Drains and stops it; resolves with its exit code (null if it had to be killed). Idempotent. */
  stop(): Promise<number | null>;
  /** Called if the server ends without stop() having been called. */
  onUnexpectedExit(listener: (code: number | null) => void): void;
}

const TAIL_LINES = 20;

/** Spawns the server and resolves once it prints its URL; rejects with a clear EmbeddedServerError otherwise. */
export function launchEmbeddedServer(options: LaunchOptions): Promise<EmbeddedServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  const tail: string[] = [];
  let child: ServerProcess;
  try {
    child = options.spawn({ env: options.env, cwd: options.cwd });
  } catch (error) {
    return Promise.reject(
      new EmbeddedServerError('spawn-failed', `The server process could not be started: ${String(error)}`, [], {
        cause: error,
      }),
    );
  }

  let exitCode: number | null | undefined; // undefined while running
  const exitListeners: ((code: number | null) => void)[] = [];
  const exited = new Promise<number | null>((resolve) => {
    child.onExit((code) => {
      exitCode = code;
      resolve(code);
      for (const listener of exitListeners) listener(code);
    });
  });

  return new Promise<EmbeddedServer>((resolve, reject) => {
    let settled = false;
    const fail = (error: EmbeddedServerError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };

    const timer = setTimeout(() => {
      fail(
        new EmbeddedServerError('timeout', `The server did not report its address within ${startTimeoutMs / 1000} s.`, [
          ...tail,
        ]),
      );
      child.forceKill();
    }, startTimeoutMs);

    const onLine = (stream: 'stdout' | 'stderr', line: string): void => {
      options.onOutput?.(stream, line);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (settled || stream !== 'stdout') return;
      const url = parseServerUrlLine(line);
      if (url === undefined) return;
      settled = true;
      clearTimeout(timer);
      resolve(runningServer(url));
    };
    readLines(child.stdout, (line) => onLine('stdout', line));
    readLines(child.stderr, (line) => onLine('stderr', line));

    void exited.then((code) => {
      fail(
        new EmbeddedServerError('exited', `The server stopped before it was ready (exit code ${String(code)}).`, [
          ...tail,
        ]),
      );
    });
  });

  function runningServer(url: string): EmbeddedServer {
    let stopping: Promise<number | null> | undefined;
    const stop = (): Promise<number | null> => {
      stopping ??= (async () => {
        if (exitCode !== undefined) return exitCode;
        child.terminate();
        const timeout = new Promise<'kill'>((resolve) => setTimeout(resolve, stopTimeoutMs, 'kill' as const).unref());
        const outcome = await Promise.race([exited.then(() => 'exited' as const), timeout]);
        if (outcome === 'kill') {
          child.forceKill();
          await exited;
        }
        return exitCode ?? null;
      })();
      return stopping;
    };
    return {
      url,
      pid: child.pid,
      stop,
      onUnexpectedExit(listener) {
        exitListeners.push((code) => {
          if (stopping === undefined) listener(code);
        });
      },
    };
  }
}

function readLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      onLine(buffered.slice(0, newline).replace(/\r$/, ''));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffered !== '') onLine(buffered);
    buffered = '';
  });
}

/** Adapts a Node child process (tests, scripts) to ServerProcess. */
export function childServerProcess(child: ChildProcess): ServerProcess {
  return {
    get pid() {
      return child.pid;
    },
    stdout: child.stdout,
    stderr: child.stderr,
    terminate: () => void child.kill('SIGTERM'),
    forceKill: () => void child.kill('SIGKILL'),
    onExit(listener) {
      if (child.exitCode !== null || child.signalCode !== null) listener(child.exitCode);
      else child.once('exit', (code) => listener(code));
    },
  };
}

/** The part of an Electron UtilityProcess used here (a real one fits). */
export interface UtilityProcessLike {
  readonly pid?: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  kill(): boolean;
  once(event: 'exit', listener: (code: number) => void): unknown;
}

export type UtilityFork = (
  modulePath: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string; stdio: 'pipe'; serviceName: string },
) => UtilityProcessLike;

/**
 * A SpawnServer over Electron's utilityProcess.fork: the server runs as a
 * Node process managed by Electron (no separate Node install needed).
 */
export function utilityProcessSpawner(
  fork: UtilityFork,
  serverModule: string,
  killProcess: (pid: number, signal: NodeJS.Signals) => void = process.kill.bind(process),
): SpawnServer {
  return ({ env, cwd }) => {
    const child = fork(serverModule, ['start'], { env, cwd, stdio: 'pipe', serviceName: 'MegiLance server' });
    let ended = false;
    let exitCode: number | null = null;
    child.once('exit', (code) => {
      ended = true;
      exitCode = code;
    });
    return {
      get pid() {
        return child.pid;
      },
      stdout: child.stdout,
      stderr: child.stderr,
      // UtilityProcess.kill() is SIGTERM on POSIX (the server drains) and TerminateProcess on Windows.
      terminate: () => void child.kill(),
      forceKill: () => {
        const pid = child.pid;
        if (ended || pid === undefined) return;
        try {
          killProcess(pid, 'SIGKILL');
        } catch {
          child.kill();
        }
      },
      onExit(listener) {
        if (ended) listener(exitCode);
        else child.once('exit', (code) => listener(code));
      },
    };
  };
}
