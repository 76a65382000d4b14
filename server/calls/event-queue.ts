/**
 * One peer's signaling events, in order, for its `calls.events` subscription.
 * Events pushed before the subscription starts (or while it reconnects) wait
 * in the buffer, so nothing is lost between joining and subscribing. One
 * reader at a time: a new subscription takes over from the old one.
 */
export class EventQueue<T> {
  readonly #buffer: T[] = [];
  readonly #limit: number;
  #wake: (() => void) | null = null;
  #closed = false;
  #reader = 0;

  constructor(limit = 2_000) {
    this.#limit = limit;
  }

  /** False if the queue is closed or full (a reader gone for good): the caller drops the peer. */
  push(event: T): boolean {
    if (this.#closed || this.#buffer.length >= this.#limit) return false;
    this.#buffer.push(event);
    this.#wake?.();
    return true;
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Yields events until the queue closes (after the last buffered one), `signal` aborts, or another reader starts. */
  async *read(signal: AbortSignal): AsyncGenerator<T, void, undefined> {
    const me = ++this.#reader;
    this.#wake?.();
    const stop = () => signal.aborted || me !== this.#reader;
    while (!stop()) {
      const next = this.#buffer.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#closed) return;
      let wake: (() => void) | null = null;
      await new Promise<void>((resolve) => {
        wake = resolve;
        this.#wake = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      // A newer reader may have set its own wake-up meanwhile: leave that one.
      if (this.#wake === wake) this.#wake = null;
    }
  }
}
