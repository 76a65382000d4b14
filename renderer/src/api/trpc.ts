/**
 * The typed API client. Queries and mutations travel over HTTP (batched);
 * subscriptions over one shared WebSocket whose connection state the shell
 * shows. Components reach procedures with `useTRPC()` and TanStack Query.
 *
 * Signed in, every HTTP call carries `Authorization: Bearer <access token>`
 * and the WebSocket sends the token once, as it opens (connectionParams);
 * when the user changes (sign-in, sign-out), the socket is reopened so the
 * server sees the new identity.
 */
import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink, type TRPCClient } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import superjson from 'superjson';
import type { AppRouter } from '../../../server/router.ts';
import { sessionLink, type SessionForLink } from '../auth/sessionLink.ts';
import type { ApiEndpoints } from './endpoints.ts';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type WebSocketClient = ReturnType<typeof createWSClient>;

/** The close code the server uses when the session behind a socket has ended. */
export const SESSION_ENDED_CLOSE_CODE = 4401;
export type ApiClient = TRPCClient<AppRouter>;

export interface ApiClients {
  queryClient: QueryClient;
  trpcClient: ApiClient;
  wsClient: WebSocketClient;
  /**
   * Reopens the WebSocket if it was opened as someone else (or as nobody);
   * `beforeClose` runs first, e.g. so the status bar reads the planned
   * reconnect as "Connecting…" rather than "Offline".
   */
  reauthenticateSocket(beforeClose?: () => void): void;
}

/** What the clients need of the signed-in session (AuthSession provides it). */
export interface ApiSession extends SessionForLink {
  sessionId(): string | null;
  /** The server ended the session (it closed the socket with SESSION_ENDED). */
  signedOut(reason: { kind: 'ended'; message: string | null }): void;
  /** Resolves once start-up knows whether anyone is signed in. */
  settled(): Promise<void>;
}

/**
 * Wait before the n-th reconnect attempt (0-based): quick at first, since a
 * restart usually takes a few seconds, then backing off to at most 10 s.
 */
export function reconnectDelayMs(attempt: number): number {
  if (attempt <= 0) return 250;
  return Math.min(1000 * 2 ** (attempt - 1), 10_000);
}

/**
 * Whether TanStack Query should try a failed query again: only when the
 * server may answer differently next time (no answer at all, or a 5xx).
 * A refusal (401, 403, 404, 400…) stays a refusal; an expired access token
 * has already been refreshed and retried once by the session link.
 */
export function shouldRetryQuery(failureCount: number, error: unknown): boolean {
  if (failureCount >= 3) return false;
  const data = typeof error === 'object' && error !== null && 'data' in error ? error.data : undefined;
  const status = typeof data === 'object' && data !== null && 'httpStatus' in data ? data.httpStatus : undefined;
  return typeof status !== 'number' || status >= 500;
}

/** The Authorization header for a token, or none. */
export function authorizationHeaders(accessToken: string | null, desktop = false): Record<string, string> {
  // The desktop app gets refresh tokens in answers (for the keychain) instead of a cookie.
  const client: Record<string, string> = desktop ? { 'x-megilance-client': 'desktop' } : {};
  return accessToken === null ? client : { ...client, authorization: `Bearer ${accessToken}` };
}

export function createApiClients(endpoints: ApiEndpoints, session: ApiSession): ApiClients {
  // Which session the open socket authenticated as; undefined until it has opened once.
  let socketSession: string | null | undefined;
  const wsClient = createWSClient({
    url: endpoints.wsUrl,
    retryDelayMs: reconnectDelayMs,
    // Notices a dead socket (sleep, network change) long before TCP would.
    keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 5_000 },
    // The server closes a signed-out session's socket with 4401 (server/security/live-sockets.ts):
    // end the session here at once, before anything else is sent with its dead token.
    onClose: (cause) => {
      if (cause?.code === SESSION_ENDED_CLOSE_CODE && socketSession !== null && socketSession === session.sessionId()) {
        session.signedOut({ kind: 'ended', message: 'You have been signed out. Please sign in again.' });
      }
    },
    // Read each time a socket opens, so a reconnect always presents the current token. The first
    // socket waits (its calls queued) while the session is restored, rather than reopen straight after.
    connectionParams: async () => {
      await session.settled();
      socketSession = session.sessionId();
      const accessToken = session.accessToken();
      return accessToken === null ? null : { accessToken };
    },
  });
  const trpcClient = createTRPCClient<AppRouter>({
    links: [
      sessionLink(session),
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient, transformer: superjson }),
        false: httpBatchLink({
          url: endpoints.httpUrl,
          transformer: superjson,
          headers: () => authorizationHeaders(session.accessToken(), endpoints.desktop),
        }),
      }),
    ],
  });
  const queryClient = new QueryClient({
    defaultOptions: {
      queries: { staleTime: 30_000, refetchOnWindowFocus: false, retry: shouldRetryQuery },
    },
  });
  const reauthenticateSocket = (beforeClose?: () => void) => {
    const connection = wsClient.connection;
    // Not open yet: it will read the current token when it opens.
    if (socketSession === undefined || connection?.state !== 'open') return;
    if (socketSession === session.sessionId()) return;
    beforeClose?.();
    // The client reconnects by itself (and resubscribes), presenting the new token.
    connection.ws.close(1000, 'reauthenticate');
  };
  return { queryClient, trpcClient, wsClient, reauthenticateSocket };
}
