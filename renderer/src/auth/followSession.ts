/**
 * Keeps the API clients in step with who is signed in: the WebSocket
 * reopens under the new identity, and nothing one user fetched is shown to
 * the next. A token refresh keeps the session (and so the socket and cache).
 */
import type { ApiClients } from '../api/trpc.ts';
import type { AuthSession } from './session.ts';

export function followSessionIdentity(
  session: AuthSession,
  clients: ApiClients,
  onPlannedReconnect: () => void,
): () => void {
  let identity = session.sessionId();
  return session.subscribe(() => {
    const { status } = session.getState();
    if (status === 'restoring' || status === 'unreachable') return;
    const next = session.sessionId();
    if (next === identity) return;
    const previous = identity;
    identity = next;
    clients.reauthenticateSocket(onPlannedReconnect);
    if (next === null) {
      // After React has swapped the app for the sign-in screen, so no mounted screen refetches as nobody.
      setTimeout(() => clients.queryClient.clear(), 0);
    } else if (previous !== null) {
      void clients.queryClient.resetQueries();
    }
  });
}
