/**
 * Where the API lives. In a browser the UI is served by the server itself, so
 * the page's origin is the server; the desktop app's preload may name a
 * different server (`window.megilance.serverUrl`), which then wins.
 */
import type { MegilanceDesktopApi } from '../../../shared/desktop-api.ts';

export interface ApiEndpoints {
  /** Server origin, e.g. `https://megilance.example.com` (no trailing slash). */
  origin: string;
  /** tRPC over HTTP (queries and mutations). */
  httpUrl: string;
  /** tRPC over WebSocket (subscriptions). */
  wsUrl: string;
  /** Inside the desktop app (the preload gave a server URL): refresh tokens go to the OS keychain. */
  desktop: boolean;
}

export const TRPC_PATH = '/trpc';

/** The page location fields the endpoints depend on (a `Location` satisfies it). */
export interface PageLocation {
  protocol: string;
  host: string;
}

/**
 * The desktop preload's server URL, if there is one. The preload's type is
 * declared later in shared/; until then, read it defensively.
 */
/** The preload's API, inside the desktop app; undefined in a browser. */
export function desktopApi(scope: unknown = globalThis): MegilanceDesktopApi | undefined {
  const bridge = (scope as { megilance?: unknown } | undefined)?.megilance;
  return typeof bridge === 'object' && bridge !== null ? (bridge as MegilanceDesktopApi) : undefined;
}

export function desktopServerUrl(scope: unknown = globalThis): string | undefined {
  const bridge = (scope as { megilance?: { serverUrl?: unknown } } | undefined)?.megilance;
  const url = bridge?.serverUrl;
  return typeof url === 'string' && url.length > 0 ? url : undefined;
}

export function resolveApiEndpoints(location: PageLocation, serverUrl?: string): ApiEndpoints {
  const origin = serverUrl !== undefined ? originOf(serverUrl) : `${location.protocol}//${location.host}`;
  const url = new URL(origin);
  const wsProtocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    origin,
    httpUrl: `${origin}${TRPC_PATH}`,
    wsUrl: `${wsProtocol}//${url.host}${TRPC_PATH}`,
    desktop: serverUrl !== undefined,
  };
}

function originOf(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`The server URL must be http(s), got ${url.protocol}`);
  }
  return url.origin;
}
