/**
 * Watches the link to the server for the whole app: the WebSocket's state
 * plus the server's own `system.status` stream, reduced to one
 * `ConnectionStatus` that components read with `useSyncExternalStore`.
 *
 * It lives outside React because it lasts as long as the page, and because
 * the status stream must be re-opened after a restart: the server ends it
 * when it drains, and a fresh server knows nothing of the old subscription.
 */
import type { ApiClients } from '../api/trpc.ts';
import {
  connectionStatus,
  initialConnectionSnapshot,
  nextStatusChangeAt,
  reduceConnection,
  socketPhaseOf,
  type ConnectionEvent,
  type ConnectionSnapshot,
  type ConnectionStatus,
  type ServerStatusReport,
} from './connectionStatus.ts';

interface Unsubscribable {
  unsubscribe(): void;
}

/** The two things the monitor listens to, narrowed so tests can stand them up without a server. */
export interface ConnectionSources {
  socketStates(next: (state: { state: 'idle' | 'connecting' | 'pending'; error: unknown }) => void): Unsubscribable;
  /** Opens the status stream; `onEnded` fires once when it stops, completes or fails. */
  serverStatus(handlers: { onReport: (report: ServerStatusReport) => void; onEnded: () => void }): Unsubscribable;
}

export function connectionSourcesOf({
  wsClient,
  trpcClient,
}: Pick<ApiClients, 'wsClient' | 'trpcClient'>): ConnectionSources {
  return {
    socketStates: (next) => wsClient.connectionState.subscribe({ next }),
    serverStatus: ({ onReport, onEnded }) =>
      trpcClient.system.status.subscribe(undefined, {
        onData: onReport,
        onStopped: onEnded,
        onComplete: onEnded,
        onError: onEnded,
      }),
  };
}

export interface ServerConnectionOptions {
  /** Called when the socket comes back after being lost, e.g. to refetch stale data. */
  onReconnect?: () => void;
  now?: () => number;
}

export class ServerConnection {
  readonly #sources: ConnectionSources;
  readonly #onReconnect: (() => void) | undefined;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();
  #snapshot: ConnectionSnapshot = initialConnectionSnapshot;
  #status: ConnectionStatus = connectionStatus(initialConnectionSnapshot, 0);
  #socketSubscription: Unsubscribable | null = null;
  #statusStream: Unsubscribable | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #wasOpen = false;
  #reconnectPlanned = false;

  constructor(sources: ConnectionSources, options: ServerConnectionOptions = {}) {
    this.#sources = sources;
    this.#onReconnect = options.onReconnect;
    this.#now = options.now ?? Date.now;
  }

  /** Starts watching; safe to call more than once. */
  start(): void {
    if (this.#socketSubscription !== null) return;
    this.#openStatusStream();
    this.#socketSubscription = this.#sources.socketStates((state) => {
      let phase = socketPhaseOf(state);
      // A socket the app closed on purpose (to present a new token) is reconnecting, not lost.
      if (phase === 'lost' && this.#reconnectPlanned) phase = 'connecting';
      if (phase === 'open') this.#reconnectPlanned = false;
      const reconnected = phase === 'open' && this.#snapshot.socket !== 'open' && this.#wasOpen;
      if (phase === 'open') this.#wasOpen = true;
      this.#dispatch({ type: 'socket', phase });
      if (phase === 'open' && this.#statusStream === null) this.#openStatusStream();
      if (reconnected) this.#onReconnect?.();
    });
  }

  stop(): void {
    this.#socketSubscription?.unsubscribe();
    this.#socketSubscription = null;
    this.#statusStream?.unsubscribe();
    this.#statusStream = null;
    this.#clearTimer();
  }

  /** The app is about to close the socket itself and let it reconnect (e.g. after sign-in). */
  expectReconnect(): void {
    this.#reconnectPlanned = true;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getStatus = (): ConnectionStatus => this.#status;

  #openStatusStream(): void {
    let ended = false;
    let stream: Unsubscribable | null = null;
    stream = this.#sources.serverStatus({
      onReport: (report) => this.#dispatch({ type: 'server-status', state: report.state, at: this.#now() }),
      onEnded: () => {
        ended = true;
        // Re-opened on the next connection (the server only ends it when draining).
        if (stream !== null && this.#statusStream === stream) this.#statusStream = null;
      },
    });
    this.#statusStream = ended ? null : stream;
  }

  #dispatch(event: ConnectionEvent): void {
    this.#snapshot = reduceConnection(this.#snapshot, event);
    this.#refresh();
  }

  #refresh(): void {
    this.#clearTimer();
    const status = connectionStatus(this.#snapshot, this.#now());
    const changeAt = nextStatusChangeAt(this.#snapshot);
    if (changeAt !== null) {
      this.#timer = setTimeout(() => this.#refresh(), Math.max(0, changeAt - this.#now()));
    }
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#listeners) listener();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
