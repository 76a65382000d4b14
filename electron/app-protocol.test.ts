/**
 * The app:// handler against a real folder laid out like dist/renderer, with
 * a secret file beside it that no URL may reach; and the choice between the
 * packaged renderer and the server's pages, against real HTTP servers that
 * do and do not allow the app's origin.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopAppCors } from '../shared/desktop-api.ts';
import {
  APP_SCHEME_PRIVILEGES,
  appSchemeUrl,
  chooseRendererSource,
  createAppProtocolHandler,
  mimeTypeOf,
  resolveRequestPath,
  serverAllowsAppOrigin,
} from './app-protocol.ts';

const CSP = "default-src 'self';connect-src 'self' http://127.0.0.1:41234";
let base: string;
let root: string;
const logged: string[] = [];
let handle: (request: Request) => Promise<Response>;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'megilance-app-protocol-'));
  root = join(base, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(
    join(root, 'index.html'),
    '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc.js"></script>',
  );
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log("app")');
  writeFileSync(join(root, 'assets', 'index-abc.css'), 'body{}');
  writeFileSync(join(root, 'assets', 'engine.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
  writeFileSync(join(root, 'assets', 'font.woff2'), 'font');
  writeFileSync(join(root, 'assets', 'logo.svg'), '<svg/>');
  writeFileSync(join(root, 'assets', 'data.bin'), 'bytes');
  writeFileSync(join(root, 'assets', 'name with space.png'), 'png');
  writeFileSync(join(base, 'secret.txt'), 'TOP SECRET');
  // A link inside the folder that points out of it.
  symlinkSync(join(base, 'secret.txt'), join(root, 'assets', 'leak.txt'));
  handle = createAppProtocolHandler({ rootDir: root, contentSecurityPolicy: CSP, log: (line) => logged.push(line) });
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => handle(new Request(url, { method }));

describe('the app:// scheme', () => {
  it('is registered standard, secure, with fetch, CORS and streaming', () => {
    expect(APP_SCHEME_PRIVILEGES).toEqual({
      scheme: 'app',
      privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true },
    });
    expect(appSchemeUrl()).toBe('app://megilance/');
    expect(appSchemeUrl('/calls/x')).toBe('app://megilance/calls/x');
  });
});

describe('createAppProtocolHandler', () => {
  it('serves index.html at / with the CSP and no caching', async () => {
    const response = await get('app://megilance/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CSP);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('<div id="root">');
  });

  it.each([
    ['assets/index-abc.js', 'text/javascript; charset=utf-8', 'console.log("app")'],
    ['assets/index-abc.css', 'text/css; charset=utf-8', 'body{}'],
    ['assets/logo.svg', 'image/svg+xml', '<svg/>'],
    ['assets/font.woff2', 'font/woff2', 'font'],
    ['assets/data.bin', 'application/octet-stream', 'bytes'],
    ['assets/name%20with%20space.png', 'image/png', 'png'],
  ])('serves %s as %s', async (path, type, body) => {
    const response = await get(`app://megilance/${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    // Only documents carry the policy.
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(await response.text()).toBe(body);
  });

  it('serves WebAssembly as application/wasm (streaming compilation insists)', async () => {
    const response = await get('app://megilance/assets/engine.wasm');
    expect(response.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d]));
  });

  it.each(['/calls/6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21', '/settings', '/jobs/', '/contracts/x/milestones'])(
    'answers the page route %s with the app shell',
    async (route) => {
      const response = await get(`app://megilance${route}?tab=1`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toBe(CSP);
      expect(await response.text()).toContain('<div id="root">');
    },
  );

  it('answers a missing asset 404, not with the app shell', async () => {
    for (const path of ['/assets/missing.js', '/favicon.ico', '/assets/old-build.css']) {
      const response = await get(`app://megilance${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text()).not.toContain('<div id="root">');
    }
  });

  it.each([
    ['an encoded ..', 'app://megilance/%2e%2e/secret.txt'],
    ['an encoded slash and ..', 'app://megilance/assets/..%2f..%2fsecret.txt'],
    ['an encoded backslash', 'app://megilance/assets/..%5c..%5csecret.txt'],
    ['a NUL', 'app://megilance/index.html%00.png'],
    ['a link out of the folder', 'app://megilance/assets/leak.txt'],
    ['a raw ..', 'app://megilance/../secret.txt'],
    ['a raw .. after a folder', 'app://megilance/assets/../../secret.txt'],
  ])('never serves a file outside the renderer: %s', async (_what, url) => {
    const response = await get(url);
    const body = await response.text();
    expect(body).not.toContain('TOP SECRET');
    // The URL parser resolves plain `..` itself: what is left is a route (the shell) or a refusal.
    if (response.status === 200) expect(body).toContain('<div id="root">');
    else expect([403, 404]).toContain(response.status);
  });

  it('refuses encoded traversal with 403 and says so in the log', async () => {
    logged.length = 0;
    expect((await get('app://megilance/assets/..%2f..%2fsecret.txt')).status).toBe(403);
    expect((await get('app://megilance/%2e%2e%2fsecret.txt')).status).toBe(403);
    expect((await get('app://megilance/%E0%A4%A')).status).toBe(400);
    expect(logged.some((line) => line.includes('outside the renderer'))).toBe(true);
  });

  it('answers only its own host, and only GET and HEAD', async () => {
    expect((await get('app://evil/index.html')).status).toBe(404);
    expect((await get('app://megilance.evil/')).status).toBe(404);
    expect((await get('app://megilance:8080/')).status).toBe(404);
    const post = await handle(new Request('app://megilance/', { method: 'POST', body: 'x' }));
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await get('app://megilance/assets/index-abc.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await head.text()).toBe('');
  });

  it('says the renderer is not built when there is no index.html', async () => {
    const empty = mkdtempSync(join(base, 'empty-'));
    const response = await createAppProtocolHandler({ rootDir: empty, contentSecurityPolicy: CSP, log: () => {} })(
      new Request('app://megilance/'),
    );
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/not built/);
  });
});

describe('resolveRequestPath and mimeTypeOf', () => {
  it('keeps paths inside the root', () => {
    expect(resolveRequestPath('/r', '/assets/a.js')).toEqual({ ok: true, path: '/r/assets/a.js' });
    expect(resolveRequestPath('/r', '/')).toEqual({ ok: true, path: '/r' });
    expect(resolveRequestPath('/r', '/a/./b')).toEqual({ ok: true, path: '/r/a/b' });
    expect(resolveRequestPath('/r', '/a/%2e%2e/b')).toEqual({ ok: false, status: 403 });
    expect(resolveRequestPath('/r', '/%')).toEqual({ ok: false, status: 400 });
  });

  it('names the types the renderer uses', () => {
    expect(mimeTypeOf('x.HTML')).toBe('text/html; charset=utf-8');
    expect(mimeTypeOf('x.mjs')).toBe('text/javascript; charset=utf-8');
    expect(mimeTypeOf('x.json')).toBe('application/json; charset=utf-8');
    expect(mimeTypeOf('x')).toBe('application/octet-stream');
  });
});

/** An HTTP server answering preflights as told. */
async function corsServer(
  headers: Record<string, string> | null,
  status = 204,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    if (request.method === 'OPTIONS' && headers !== null && request.headers.origin === 'app://megilance') {
      response.writeHead(status, headers).end();
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const allowing = {
  'access-control-allow-origin': 'app://megilance',
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': desktopAppCors.headers.join(', '),
  'access-control-max-age': '600',
};

describe('serverAllowsAppOrigin and chooseRendererSource', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.close();
  });
  const start = async (headers: Record<string, string> | null, status?: number) => {
    const started = await corsServer(headers, status);
    servers.push(started.server);
    return started.url;
  };

  it('accepts a server whose preflight answer allows the origin, POST and the renderer’s headers', async () => {
    expect(await serverAllowsAppOrigin(await start(allowing))).toEqual({ allowed: true });
  });

  it.each([
    ['no CORS at all (404)', null, undefined, /HTTP 404/],
    [
      'another origin',
      { ...allowing, 'access-control-allow-origin': 'https://example.com' },
      undefined,
      /Allow-Origin/,
    ],
    ['no POST', { ...allowing, 'access-control-allow-methods': 'GET' }, undefined, /POST/],
    [
      'a * that does not cover Authorization',
      { ...allowing, 'access-control-allow-headers': '*' },
      undefined,
      /authorization/,
    ],
    [
      'a header missing',
      { ...allowing, 'access-control-allow-headers': 'authorization, content-type' },
      undefined,
      /x-megilance-client/,
    ],
    ['an error status', allowing, 500, /HTTP 500/],
  ])('refuses %s', async (_what, headers, status, reason) => {
    const answer = await serverAllowsAppOrigin(await start(headers, status));
    expect(answer.allowed).toBe(false);
    if (!answer.allowed) expect(answer.reason).toMatch(reason);
  });

  it('refuses a server that cannot be reached', async () => {
    const answer = await serverAllowsAppOrigin('http://127.0.0.1:9', globalThis.fetch, 2_000);
    expect(answer).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/preflight request failed/) as string,
    });
  });

  it('uses app:// when packaged, built and allowed; the server’s pages otherwise, saying why', async () => {
    const allowed = await start(allowing);
    const refusing = await start(null);
    const choose = (overrides: Partial<Parameters<typeof chooseRendererSource>[0]>) =>
      chooseRendererSource({ isPackaged: true, rendererDir: root, serverUrl: allowed, ...overrides });

    expect(await choose({})).toEqual({
      mode: 'app-scheme',
      origin: 'app://megilance',
      entryUrl: 'app://megilance/',
      rendererDir: root,
    });
    expect(await choose({ serverUrl: refusing })).toMatchObject({
      mode: 'server',
      origin: refusing,
      entryUrl: refusing,
      reason: expect.stringMatching(/does not allow app:\/\/megilance/) as string,
    });
    expect(await choose({ isPackaged: false })).toMatchObject({ mode: 'server', reason: /development/ });
    expect(await choose({ isPackaged: false, preference: 'app' })).toMatchObject({ mode: 'app-scheme' });
    expect(await choose({ preference: 'server' })).toMatchObject({
      mode: 'server',
      reason: 'MEGILANCE_RENDERER=server',
    });
    expect(await choose({ preference: 'file' })).toMatchObject({ mode: 'server', reason: /must be "app" or "server"/ });
    expect(await choose({ rendererDir: join(base, 'nowhere') })).toMatchObject({
      mode: 'server',
      reason: /no built renderer/,
    });
  });
});
