import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, createWSClient, httpBatchLink, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { afterEach, describe, expect, it } from 'vitest';
import { contentSecurityPolicyHeader } from '../shared/content-security-policy.ts';
import { startTestServer, type TestServer } from '../tests/support/server.ts';
import type { AppRouter } from './router.ts';
import type { ServerStatus } from './system/service.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.dispose();
  server = undefined;
});

describe('MegiLance server', () => {
  it('answers health, readiness and a tRPC query over HTTP', async () => {
    server = await startTestServer();
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: true });

    const client = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${server.url}/trpc`, transformer: superjson })],
    });
    const info = await client.system.info.query();
    expect(info).toMatchObject({ name: 'MegiLance', database: { engine: 'sqlite' }, environment: 'test' });
    expect(info.startedAt).toBeInstanceOf(Date);
  });

  it('sends security headers and keeps unknown API paths a 404', async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/healthz`);
    // The same policy Electron adds to the app's documents (one source in shared/).
    expect(res.headers.get('content-security-policy')).toBe(contentSecurityPolicyHeader());
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const missing = await fetch(`${server.url}/trpc/system.nope`);
    expect(missing.status).toBe(404);
  });

  it('streams status over WebSocket and tells subscribers when it drains', async () => {
    server = await startTestServer();
    const wsClient = createWSClient({ url: `${server.url.replace('http', 'ws')}/trpc` });
    const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
    const seen: ServerStatus[] = [];
    const firstTwo = new Promise<void>((resolve, reject) => {
      client.system.status.subscribe(
        { intervalMs: 1_000 },
        {
          onData: (status) => {
            seen.push(status);
            if (seen.length === 2) resolve();
          },
          onError: reject,
        },
      );
    });
    await firstTwo;
    expect(seen[0]).toMatchObject({ state: 'ready', connections: 1 });
    expect(seen[1]!.serverTime.getTime()).toBeGreaterThan(seen[0]!.serverTime.getTime());

    const draining = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (seen.some((s) => s.state === 'draining')) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
    const stopped = server.stop('test drain');
    await draining;
    await stopped;
    expect((await fetch(`${server.url}/healthz`).catch(() => null)) ?? null).toBeNull();
    void wsClient.close();
  });

  it('drains on SIGTERM and exits 0 after closing the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'megilance-sigterm-'));
    const child = spawn(process.execPath, ['server/cli.ts', 'start'], {
      cwd: join(import.meta.dirname, '..'),
      env: {
        PATH: process.env['PATH'],
        MEGILANCE_DATA_DIR: dataDir,
        MEGILANCE_PORT: '0',
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL line; output so far:\n${out}`)), 15_000);
      child.stdout.on('data', () => {
        const match = /MEGILANCE_SERVER_URL=(\S+)/.exec(out);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('"msg":"draining"');
    expect(out).toContain('"msg":"stopped"');
  });

  it('applies migrations once: a restart on the same data dir keeps its data', async () => {
    server = await startTestServer();
    const { dataDir } = server;
    await server.deps.db
      .insertInto('users')
      .values({
        id: 'u1',
        email: 'Ada@Example.com',
        email_normalized: 'ada@example.com',
        display_name: 'Ada',
        created_at: 1,
        updated_at: 1,
      })
      .execute();
    await server.stop('restart');
    const again = await startTestServer({ MEGILANCE_DATA_DIR: dataDir });
    try {
      const users = await again.deps.db.selectFrom('users').select(['id', 'display_name']).execute();
      expect(users).toEqual([{ id: 'u1', display_name: 'Ada' }]);
      const events = await again.deps.db.selectFrom('server_events').select('kind').orderBy('id').execute();
      expect(events.map((e) => e.kind)).toEqual(['started', 'draining', 'started']);
    } finally {
      await again.dispose();
    }
  });
});
