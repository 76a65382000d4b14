/**
 * The typed API client. Queries and mutations travel over HTTP (batched);
 * subscriptions over one shared WebSocket whose connection state the shell
 * shows. Components reach procedures with `useTRPC()` and TanStack Query.
 */
import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink, type TRPCClient } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import superjson from 'superjson';
import type { AppRouter } from '../../../server/router.ts';
import type { ApiEndpoints } from './endpoints.ts';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type WebSocketClient = ReturnType<typeof createWSClient>;
export type ApiClient = TRPCClient<AppRouter>;

export interface ApiClients {
  queryClient: QueryClient;
  trpcClient: ApiClient;
  wsClient: WebSocketClient;
}

/**
 * Wait before the n-th reconnect attempt (0-based): quick at first, since a
 * restart usually takes a few seconds, then backing off to at most 10 s.
 */
export function reconnectDelayMs(attempt: number): number {
  if (attempt <= 0) return 250;
  return Math.min(1000 * 2 ** (attempt - 1), 10_000);
}

export function createApiClients(endpoints: ApiEndpoints): ApiClients {
  const wsClient = createWSClient({
    url: endpoints.wsUrl,
    retryDelayMs: reconnectDelayMs,
    // Notices a dead socket (sleep, network change) long before TCP would.
    keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 5_000 },
  });
  const trpcClient = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient, transformer: superjson }),
        false: httpBatchLink({ url: endpoints.httpUrl, transformer: superjson }),
      }),
    ],
  });
  const queryClient = new QueryClient({
    defaultOptions: {
      queries: { staleTime: 30_000, refetchOnWindowFocus: false },
    },
  });
  return { queryClient, trpcClient, wsClient };
}
