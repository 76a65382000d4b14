/**
 * The server's own state, read by /readyz and by live subscriptions: clients
 * are told when the server starts draining so they can reconnect elsewhere.
 */
import { EventEmitter, on } from 'node:events';

export type LifecycleState = 'starting' | 'ready' | 'draining' | 'stopped';

export class ServerLifecycle {
  readonly startedAt = Date.now();
  #state: LifecycleState = 'starting';
  readonly #events = new EventEmitter();

  get state(): LifecycleState {
    return this.#state;
  }

  transition(next: LifecycleState): void {
    if (next === this.#state) return;
    this.#state = next;
    this.#events.emit('state', next);
  }

  /** Yields every later state change until `signal` aborts. */
  async *changes(signal: AbortSignal): AsyncGenerator<LifecycleState> {
    try {
      for await (const [state] of on(this.#events, 'state', { signal }) as AsyncIterable<[LifecycleState]>) {
        yield state;
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
}
