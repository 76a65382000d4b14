/**
 * The cache worker thread's entry point: owns the one better-sqlite3
 * connection (store.ts) so no SQLite call ever runs on Electron's main
 * thread. It parses every message (protocol.ts) before acting on it,
 * answers each request with its id, reports slow queries, and on `close`
 * closes the database and lets the thread end.
 *
 * Requests are handled one at a time in arrival order (SQLite calls are
 * synchronous here), which is what keeps outbox writes in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import {
  cacheMainMessageSchema,
  cacheRequests,
  cacheWorkerDataSchema,
  type CacheOp,
  type CacheParsedInput,
  type CacheWorkerMessage,
} from './protocol.ts';
import { CacheStore, toCacheError } from './store.ts';

const port = parentPort;
if (port === null) throw new Error('electron/cache/worker.ts runs only as a worker thread (see local-cache.ts).');

// zod/mini ships no messages; English ones make INVALID_REQUEST errors say what is wrong.
z.config(en());

const post = (message: CacheWorkerMessage): void => port.postMessage(message);

/** Parses the input with its operation's schema and runs it: the one place an op name picks code. */
function execute<O extends CacheOp>(store: CacheStore, op: O, rawInput: unknown) {
  const input = z.parse(cacheRequests[op], rawInput) as CacheParsedInput<O>;
  return store.execute(op, input);
}

function start(): void {
  let store: CacheStore;
  try {
    const data = cacheWorkerDataSchema.parse(workerData);
    store = CacheStore.open({
      ...data,
      onSlowQuery: (event) => post({ type: 'slow-query', ...event }),
    });
  } catch (error) {
    post({ type: 'open-failed', error: toCacheError(error, 'OPEN_FAILED').toShape() });
    port!.close();
    return;
  }
  post({
    type: 'ready',
    schemaVersion: store.schemaVersion,
    migrated: store.migrated,
    droppedKinds: store.droppedKinds,
  });

  port!.on('message', (raw: unknown) => {
    const message = z.safeParse(cacheMainMessageSchema, raw);
    if (!message.success) {
      // Without a well-formed envelope there may be no id to answer: say so if there is one.
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'number') {
        post({ type: 'result', id, ok: false, error: toCacheError(message.error).toShape() });
      }
      return;
    }
    if (message.data.type === 'close') {
      try {
        store.close();
      } finally {
        post({ type: 'closed' });
        port!.close();
      }
      return;
    }
    const { id, op, input } = message.data;
    try {
      post({ type: 'result', id, ok: true, value: execute(store, op, input) });
    } catch (error) {
      post({ type: 'result', id, ok: false, error: toCacheError(error).toShape() });
    }
  });
}

start();
