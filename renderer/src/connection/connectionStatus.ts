/**
 * What the user is told about the link to the server, derived from two
 * sources: the WebSocket's own state and what the server reports about
 * itself over the `system.status` subscription.
 *
 * Pure functions, so every transition is tested without a browser.
 */
import type { AppRouter } from '../../../server/router.ts';
import type { inferRouterOutputs } from '@trpc/server';

type Yielded<T> = T extends AsyncIterable<infer Item> ? Item : never;

/** One report from the `system.status` stream: `{ state, serverTime, connections }`. */
export type ServerStatusReport = Yielded<inferRouterOutputs<AppRouter>['system']['status']>;
export type ServerLifecycleState = ServerStatusReport['state'];

/** What the user sees in the status bar. */
export type ConnectionStatus = 'connected' | 'connecting' | 'offline' | 'restarting';

/**
 * The socket as the shell cares about it: `connecting` is the first attempt,
 * `lost` means it dropped (or never came up) and is being retried, `closed`
 * means nobody is trying.
 */
export type SocketPhase = 'connecting' | 'open' | 'lost' | 'closed';

export interface ConnectionSnapshot {
  socket: SocketPhase;
  /** The last state the server reported on the current connection. */
  serverState: ServerLifecycleState | null;
  /** When the server announced it was draining (epoch ms); cleared once a connection is back. */
  drainNoticeAt: number | null;
}

export type ConnectionEvent =
  { type: 'socket'; phase: SocketPhase } | { type: 'server-status'; state: ServerLifecycleState; at: number };

/**
 * How long after a drain notice a lost connection still reads as "Server
 * restarting" rather than "Offline": long enough for a restart or a rolling
 * deploy, short enough not to hide a server that is gone.
 */
export const RESTART_NOTICE_MS = 60_000;

export const initialConnectionSnapshot: ConnectionSnapshot = {
  socket: 'connecting',
  serverState: null,
  drainNoticeAt: null,
};

/** Maps the tRPC WebSocket client's state (`idle` | `connecting` | `pending`) to a socket phase. */
export function socketPhaseOf(state: { state: 'idle' | 'connecting' | 'pending'; error: unknown }): SocketPhase {
  switch (state.state) {
    case 'pending':
      return 'open';
    case 'connecting':
      // tRPC sets an error on every attempt after a failure or a drop.
      return state.error === null || state.error === undefined ? 'connecting' : 'lost';
    case 'idle':
      return 'closed';
  }
}

export function reduceConnection(previous: ConnectionSnapshot, event: ConnectionEvent): ConnectionSnapshot {
  switch (event.type) {
    case 'socket':
      if (event.phase === previous.socket) return previous;
      if (event.phase === 'open') {
        // A new connection: whatever the old one said no longer holds.
        return { socket: 'open', serverState: null, drainNoticeAt: null };
      }
      return { ...previous, socket: event.phase };
    case 'server-status': {
      const draining = event.state === 'draining' || event.state === 'stopped';
      return {
        ...previous,
        serverState: event.state,
        drainNoticeAt: draining ? (previous.drainNoticeAt ?? event.at) : null,
      };
    }
  }
}

export function connectionStatus(snapshot: ConnectionSnapshot, now: number): ConnectionStatus {
  if (snapshot.socket === 'open') {
    switch (snapshot.serverState) {
      case 'draining':
      case 'stopped':
        return 'restarting';
      case 'starting':
        return 'connecting';
      case 'ready':
      case null:
        return 'connected';
    }
  }
  if (snapshot.drainNoticeAt !== null && now - snapshot.drainNoticeAt < RESTART_NOTICE_MS) return 'restarting';
  return snapshot.socket === 'connecting' ? 'connecting' : 'offline';
}

/** When `connectionStatus` will next change by itself (a restart notice running out), if ever. */
export function nextStatusChangeAt(snapshot: ConnectionSnapshot): number | null {
  if (snapshot.socket === 'open' || snapshot.drainNoticeAt === null) return null;
  return snapshot.drainNoticeAt + RESTART_NOTICE_MS;
}
