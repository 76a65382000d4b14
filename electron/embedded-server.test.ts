/**
 * The launcher against the real server: `node server/cli.ts start` in a
 * child process, the same stdout contract utilityProcess.fork sees in the app.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  childServerProcess,
  EmbeddedServerError,
  embeddedServerEnv,
  launchEmbeddedServer,
  parseServerUrlLine,
  utilityProcessSpawner,
  type EmbeddedServer,
  type ServerProcess,
  type SpawnServer,
} from './embedded-server.ts';

const root = resolve(import.meta.dirname, '..');
const serverCli = join(root, 'server', 'cli.ts');

const temporary: string[] = [];
const running: EmbeddedServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'megilance-embedded-'));
  temporary.push(dir);
  return dir;
}

/** The server CLI under Node, as the app's utility process would run the bundle. */
function nodeServer(execArgv: string[] = []): SpawnServer {
  return ({ env, cwd }) =>
    childServerProcess(
      spawn(process.execPath, [...execArgv, serverCli, 'start'], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embeddedServerEnv', () => {
  it('picks a free loopback port and the app data folder, and drops DATABASE_URL', () => {
    const env = embeddedServerEnv(
      { PATH: '/usr/bin', DATABASE_URL: 'postgres://prod/db', MEGILANCE_PORT: '8420', HOME: undefined },
      { userDataDir: '/home/u/.config/MegiLance', rendererDir: '/opt/MegiLance/dist/renderer' },
    );
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      MEGILANCE_PORT: '0',
      MEGILANCE_HOST: '127.0.0.1',
      MEGILANCE_DATA_DIR: join('/home/u/.config/MegiLance', 'data'),
      MEGILANCE_RENDERER_DIR: '/opt/MegiLance/dist/renderer',
      LOG_PRETTY: 'false',
    });
    expect(env).not.toHaveProperty('DATABASE_URL');
    expect(env).not.toHaveProperty('HOME');
  });
});

describe('parseServerUrlLine', () => {
  it('reads the URL line and nothing else', () => {
    expect(parseServerUrlLine('MEGILANCE_SERVER_URL=http://127.0.0.1:41234\r')).toBe('http://127.0.0.1:41234');
    expect(parseServerUrlLine('MEGILANCE_SERVER_URL=http://localhost:8420/')).toBe('http://localhost:8420');
    expect(parseServerUrlLine('{"msg":"MEGILANCE_SERVER_URL=http://127.0.0.1:1"}')).toBeUndefined();
    expect(parseServerUrlLine('MEGILANCE_SERVER_URL=file:///etc/passwd')).toBeUndefined();
    expect(parseServerUrlLine('MEGILANCE_SERVER_URL=')).toBeUndefined();
  });
});

describe('launchEmbeddedServer with the real server', () => {
  it('starts it on a free port, serves /healthz, and stops it with a graceful drain', async () => {
    const userDataDir = tempDir();
    const lines: string[] = [];
    const server = await launchEmbeddedServer({
      spawn: nodeServer(),
      env: embeddedServerEnv({}, { userDataDir, rendererDir: join(userDataDir, 'no-renderer') }),
      cwd: userDataDir,
      onOutput: (_stream, line) => lines.push(line),
    });
    running.push(server);

    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toBe('http://127.0.0.1:8420');
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(existsSync(join(userDataDir, 'data', 'megilance.sqlite'))).toBe(true);

    let unexpected = false;
    server.onUnexpectedExit(() => (unexpected = true));
    expect(await server.stop()).toBe(0);
    expect(isAlive(server.pid)).toBe(false);
    expect(unexpected).toBe(false);
    const messages = lines.flatMap((line) => {
      try {
        return [(JSON.parse(line) as { msg?: string }).msg];
      } catch {
        return [];
      }
    });
    expect(messages).toEqual(expect.arrayContaining(['shutdown signal received', 'draining', 'stopped']));
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(await server.stop()).toBe(0); // idempotent
  });

  it('reports a server that exits before it is ready, with its last words', async () => {
    const userDataDir = tempDir();
    const launch = launchEmbeddedServer({
      spawn: nodeServer(),
      env: embeddedServerEnv({ LOG_LEVEL: 'loud' }, { userDataDir, rendererDir: userDataDir }),
      cwd: userDataDir,
    });
    await expect(launch).rejects.toBeInstanceOf(EmbeddedServerError);
    await expect(launch).rejects.toMatchObject({
      failure: 'exited',
      message: expect.stringMatching(/exit code 78[\s\S]*LOG_LEVEL: must be one of/) as string,
    });
  });

  it('gives up on a server that never reports its address, and kills it', async () => {
    const userDataDir = tempDir();
    let pid: number | undefined;
    const silent: SpawnServer = ({ env, cwd }) => {
      const child = childServerProcess(
        spawn(process.execPath, ['-e', 'console.log("warming up"); setInterval(() => {}, 1000)'], { env, cwd }),
      );
      pid = child.pid;
      return child;
    };
    const started = Date.now();
    const launch = launchEmbeddedServer({ spawn: silent, env: {}, cwd: userDataDir, startTimeoutMs: 500 });
    await expect(launch).rejects.toMatchObject({
      failure: 'timeout',
      message: expect.stringContaining('warming up') as string,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect.poll(() => isAlive(pid)).toBe(false);
  });

  it('reports a spawn that throws', async () => {
    const launch = launchEmbeddedServer({
      spawn: () => {
        throw new Error('EACCES');
      },
      env: {},
      cwd: tempDir(),
    });
    await expect(launch).rejects.toMatchObject({
      failure: 'spawn-failed',
      message: expect.stringContaining('EACCES') as string,
    });
  });

  it('tells the app when the server dies on its own', async () => {
    const userDataDir = tempDir();
    const server = await launchEmbeddedServer({
      spawn: nodeServer(),
      env: embeddedServerEnv({}, { userDataDir, rendererDir: userDataDir }),
      cwd: userDataDir,
    });
    running.push(server);
    const exit = new Promise<number | null>((resolve) => server.onUnexpectedExit(resolve));
    process.kill(server.pid ?? -1, 'SIGKILL');
    await expect(exit).resolves.toBeNull();
  });

  it('kills a server that does not finish its drain in time', async () => {
    // Announces itself like the server, then ignores SIGTERM.
    const stubborn: SpawnServer = ({ env, cwd }) =>
      childServerProcess(
        spawn(
          process.execPath,
          [
            '-e',
            'process.on("SIGTERM", () => {}); console.log("MEGILANCE_SERVER_URL=http://127.0.0.1:1"); setInterval(() => {}, 1000)',
          ],
          { env, cwd },
        ),
      );
    const server = await launchEmbeddedServer({ spawn: stubborn, env: {}, cwd: tempDir(), stopTimeoutMs: 500 });
    const started = Date.now();
    expect(await server.stop()).toBeNull(); // ended by a signal, not by itself
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(isAlive(server.pid)).toBe(false);
  });
});

describe('utilityProcessSpawner', () => {
  it('forks the server bundle with its command, environment and piped output', () => {
    const calls: unknown[][] = [];
    const stdout = new PassThrough();
    const spawnServer = utilityProcessSpawner((modulePath, args, options) => {
      calls.push([modulePath, args, options]);
      return { pid: 1234, stdout, stderr: null, kill: () => true, once: () => undefined };
    }, '/opt/MegiLance/resources/app.asar/dist/server/cli.js');
    const child: ServerProcess = spawnServer({ env: { MEGILANCE_PORT: '0' }, cwd: '/home/u' });
    expect(calls).toEqual([
      [
        '/opt/MegiLance/resources/app.asar/dist/server/cli.js',
        ['start'],
        { env: { MEGILANCE_PORT: '0' }, cwd: '/home/u', stdio: 'pipe', serviceName: 'MegiLance server' },
      ],
    ]);
    expect(child.stdout).toBe(stdout);
  });

  it('terminates with kill() (SIGTERM) and force-kills by pid with SIGKILL', () => {
    const signals: string[] = [];
    let exit: ((code: number) => void) | undefined;
    const spawnServer = utilityProcessSpawner(
      () => ({
        pid: 4321,
        stdout: null,
        stderr: null,
        kill: () => signals.push('kill()') > 0,
        once: (_event, listener) => {
          exit ??= listener;
        },
      }),
      'cli.js',
      (pid, signal) => signals.push(`${signal}:${pid}`),
    );
    const child = spawnServer({ env: {}, cwd: '/' });
    child.terminate();
    child.forceKill();
    expect(signals).toEqual(['kill()', 'SIGKILL:4321']);
    exit?.(0);
    child.forceKill(); // already gone: nothing more is sent
    expect(signals).toHaveLength(2);
  });
});
