import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { ApiEndpoints } from '../api/endpoints.ts';
import type { ConnectionStatus } from './connectionStatus.ts';
import type { ServerConnection } from './serverConnection.ts';

interface ConnectionContextValue {
  connection: ServerConnection;
  endpoints: ApiEndpoints;
}

const ConnectionContext = createContext<ConnectionContextValue | null>(null);

export function ConnectionProvider({ value, children }: { value: ConnectionContextValue; children: ReactNode }) {
  return <ConnectionContext value={value}>{children}</ConnectionContext>;
}

function useConnectionContext(): ConnectionContextValue {
  const value = useContext(ConnectionContext);
  if (value === null) throw new Error('ConnectionProvider is missing above this component');
  return value;
}

export function useConnectionStatus(): ConnectionStatus {
  const { connection } = useConnectionContext();
  return useSyncExternalStore(connection.subscribe, connection.getStatus);
}

/** Where this UI's API lives (shown in Settings). */
export function useApiEndpoints(): ApiEndpoints {
  return useConnectionContext().endpoints;
}
