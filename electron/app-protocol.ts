/**
 * The packaged app's renderer, served by main from `app://megilance/` instead
 * of file:// or the server's own pages.
 *
 * A privileged, standard, secure scheme gives the pages a real origin: a
 * secure context (WebCrypto, camera and microphone), the History API (the
 * router's real paths, deep routes on reload), fetch and CORS, and an origin
 * that is neither file:// nor localhost (tldraw's licence check needs one).
 * The scheme is registered before the app is ready (`APP_SCHEME_PRIVILEGES`);
 * `createAppProtocolHandler` serves the built renderer (dist/renderer, inside
 * app.asar) with correct MIME types, refuses anything outside that folder,
 * and answers unknown page paths with index.html (the router takes them).
 *
 * The pages then call the server cross-origin (`window.megilance.serverUrl`),
 * so the server must allow the `app://megilance` origin (shared/desktop-api.ts
 * `desktopAppCors`). `chooseRendererSource` checks that at launch and, when the
 * server does not, keeps loading the server's own pages (which is also what
 * development does: `npm run dev` hot-reloads them).
 *
 * Imports only types from 'electron': tested under Node with a temp folder.
 */
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { CustomScheme } from 'electron';
import { DESKTOP_APP_HOST, DESKTOP_APP_ORIGIN, DESKTOP_APP_SCHEME, desktopAppCors } from '../shared/desktop-api.ts';

/** For `protocol.registerSchemesAsPrivileged`, which must run before the app is ready. */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: DESKTOP_APP_SCHEME,
  privileges: {
    standard: true,
    secure: true,
    supportFetchAPI: true,
    corsEnabled: true,
    stream: true,
  },
};

/** The URL of a route of the packaged renderer, e.g. `app://megilance/calls/<id>`. */
export function appSchemeUrl(route = '/'): string {
  return `${DESKTOP_APP_ORIGIN}${route.startsWith('/') ? route : `/${route}`}`;
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  // WebAssembly.instantiateStreaming insists on this type.
  '.wasm': 'application/wasm',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

/** The Content-Type for a file name: its extension's type, or bytes (`nosniff` keeps the browser from guessing). */
export function mimeTypeOf(file: string): string {
  return MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export interface AppProtocolOptions {
  /** The built renderer (dist/renderer): index.html and assets/. */
  rootDir: string;
  /** The CSP header value for the pages (shared/content-security-policy.ts, `desktopAppContentSecurityPolicy`). */
  contentSecurityPolicy: string;
  /** Where refused requests are reported. */
  log?: (line: string) => void;
}

export type AppProtocolHandler = (request: Request) => Promise<Response>;

type Resolved = { ok: true; path: string } | { ok: false; status: 400 | 403 };

/**
 * The file a URL path names under `root`, or why not: a path that does not
 * decode (400), or one that would leave the folder (`..`, an encoded `/` or
 * `\`, a NUL) (403). The URL parser already removes plain `..` segments;
 * this catches what only shows after decoding.
 */
export function resolveRequestPath(root: string, pathname: string): Resolved {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { ok: false, status: 400 };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 403 };
  const segments = decoded.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return { ok: false, status: 403 };
  const path = join(root, ...segments);
  if (path !== root && !path.startsWith(root + sep)) return { ok: false, status: 403 };
  return { ok: true, path };
}

/** A page route (`/calls/abc`) rather than a file (`/assets/x.js`): its last segment has no extension. */
function looksLikeRoute(pathname: string): boolean {
  const last = pathname.split('/').at(-1) ?? '';
  return extname(last) === '';
}

async function fileAt(path: string, root: string): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
    // A link inside the folder must not lead outside it.
    const real = await realpath(path);
    const realRoot = await realpath(root);
    return real.startsWith(realRoot + sep) ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The handler for `protocol.handle('app', …)`: GET and HEAD of the built renderer's files. */
export function createAppProtocolHandler(options: AppProtocolOptions): AppProtocolHandler {
  const root = resolve(options.rootDir);
  const log = options.log ?? ((line: string) => console.warn(line));
  const plain = (status: number, text: string, extra: Record<string, string> = {}): Response =>
    new Response(text, {
      status,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...extra },
    });

  const serve = async (request: Request, file: string, status = 200): Promise<Response> => {
    const body = request.method === 'HEAD' ? null : await readFile(file);
    const headers: Record<string, string> = {
      'content-type': mimeTypeOf(file),
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    };
    if (extname(file).toLowerCase() === '.html') headers['content-security-policy'] = options.contentSecurityPolicy;
    return new Response(body, { status, headers });
  };

  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return plain(400, 'Bad request');
    }
    if (
      url.protocol !== `${DESKTOP_APP_SCHEME}:` ||
      url.hostname.toLowerCase() !== DESKTOP_APP_HOST ||
      url.port !== '' ||
      url.username !== '' ||
      url.password !== ''
    ) {
      log(`app protocol: refused ${request.url} (not ${DESKTOP_APP_ORIGIN})`);
      return plain(404, 'Not found');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return plain(405, 'Method not allowed', { allow: 'GET, HEAD' });
    }
    const resolved = resolveRequestPath(root, url.pathname);
    if (!resolved.ok) {
      log(`app protocol: refused ${url.pathname} (${resolved.status === 403 ? 'outside the renderer' : 'bad path'})`);
      return plain(resolved.status, resolved.status === 403 ? 'Forbidden' : 'Bad request');
    }
    const file = resolved.path === root ? undefined : await fileAt(resolved.path, root);
    if (file !== undefined) return await serve(request, file);
    // The app shell for the router's paths (/, /calls/<id>, …); a missing asset stays missing.
    if (!looksLikeRoute(url.pathname)) return plain(404, 'Not found');
    const index = await fileAt(join(root, 'index.html'), root);
    if (index === undefined) return plain(404, 'The renderer is not built (no index.html)');
    return await serve(request, index);
  };
}

// ── Which renderer the window loads ─────────────────────────────────────────

export type RendererSource =
  | { mode: 'app-scheme'; origin: string; entryUrl: string; rendererDir: string }
  | { mode: 'server'; origin: string; entryUrl: string; reason: string };

export interface RendererChoiceOptions {
  /** Electron's `app.isPackaged`. */
  isPackaged: boolean;
  rendererDir: string;
  serverUrl: string;
  /** MEGILANCE_RENDERER: `app` (the app scheme, also unpackaged, for trying it) or `server`; unset: automatic. */
  preference?: string | undefined;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * The packaged renderer on app:// when the app is packaged, the renderer is
 * there and the server allows the app's origin; otherwise the server's own
 * pages, with the reason (logged by the caller).
 */
export async function chooseRendererSource(options: RendererChoiceOptions): Promise<RendererSource> {
  const server = (reason: string): RendererSource => ({
    mode: 'server',
    origin: options.serverUrl,
    entryUrl: options.serverUrl,
    reason,
  });
  const preference = options.preference?.trim() ?? '';
  if (preference === 'server') return server('MEGILANCE_RENDERER=server');
  if (preference !== '' && preference !== 'app') {
    return server(`MEGILANCE_RENDERER must be "app" or "server" (got "${preference}")`);
  }
  if (!existsSync(join(options.rendererDir, 'index.html'))) {
    return server(`no built renderer in ${options.rendererDir}`);
  }
  if (!options.isPackaged && preference !== 'app') {
    return server('development: the server serves the pages (set MEGILANCE_RENDERER=app to try app://)');
  }
  const cors = await serverAllowsAppOrigin(options.serverUrl, options.fetch, options.timeoutMs);
  if (!cors.allowed) return server(`the server does not allow ${DESKTOP_APP_ORIGIN}: ${cors.reason}`);
  return {
    mode: 'app-scheme',
    origin: DESKTOP_APP_ORIGIN,
    entryUrl: appSchemeUrl('/'),
    rendererDir: options.rendererDir,
  };
}

/**
 * Asks the server the CORS preflight a page on app://megilance sends before
 * its first API call, and checks the answer allows it (the origin, POST and
 * every header the renderer sends).
 */
export async function serverAllowsAppOrigin(
  serverUrl: string,
  fetchImpl: typeof fetch = globalThis.fetch,
  timeoutMs = 3_000,
): Promise<{ allowed: true } | { allowed: false; reason: string }> {
  let response: Response;
  try {
    response = await fetchImpl(`${serverUrl}/trpc/system.health`, {
      method: 'OPTIONS',
      redirect: 'error',
      headers: {
        origin: DESKTOP_APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': desktopAppCors.headers.join(','),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { allowed: false, reason: `the preflight request failed (${String(error)})` };
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) {
    return { allowed: false, reason: `the preflight answered HTTP ${response.status}` };
  }
  const allowOrigin = response.headers.get('access-control-allow-origin');
  if (allowOrigin !== DESKTOP_APP_ORIGIN && allowOrigin !== '*') {
    return { allowed: false, reason: `Access-Control-Allow-Origin is ${JSON.stringify(allowOrigin)}` };
  }
  const methods = listHeader(response.headers.get('access-control-allow-methods'));
  if (!methods.includes('POST') && !methods.includes('*')) {
    return { allowed: false, reason: 'Access-Control-Allow-Methods does not include POST' };
  }
  // `*` never covers Authorization: it must be named.
  const headers = listHeader(response.headers.get('access-control-allow-headers')).map((h) => h.toLowerCase());
  const missing = desktopAppCors.headers.filter(
    (header) => !headers.includes(header) && (header === 'authorization' || !headers.includes('*')),
  );
  if (missing.length > 0) return { allowed: false, reason: `Access-Control-Allow-Headers lacks ${missing.join(', ')}` };
  return { allowed: true };
}

function listHeader(value: string | null): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
