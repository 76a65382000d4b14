import { QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from 'react-router/dom';
import type { createBrowserRouter } from 'react-router';
import type { ApiEndpoints } from '../api/endpoints.ts';
import { TRPCProvider, type ApiClients } from '../api/trpc.ts';
import { AuthProvider } from '../auth/AuthContext.tsx';
import type { AuthSession } from '../auth/session.ts';
import { ConnectionProvider } from '../connection/ConnectionContext.tsx';
import type { ServerConnection } from '../connection/serverConnection.ts';
import { ScreenPicker } from '../desktop/ScreenPicker.tsx';

export interface AppProps {
  clients: ApiClients;
  connection: ServerConnection;
  endpoints: ApiEndpoints;
  session: AuthSession;
  router: ReturnType<typeof createBrowserRouter>;
}

export function App({ clients, connection, endpoints, session, router }: AppProps) {
  return (
    <QueryClientProvider client={clients.queryClient}>
      <TRPCProvider trpcClient={clients.trpcClient} queryClient={clients.queryClient}>
        <ConnectionProvider value={{ connection, endpoints }}>
          <AuthProvider session={session}>
            <RouterProvider router={router} />
            <ScreenPicker />
          </AuthProvider>
        </ConnectionProvider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
