/**
 * The outbox: writes made while offline (or before the server answered),
 * kept in the cache database and replayed to the server in order.
 *
 * - `enqueue` returns only after the write is committed to disk (with
 *   `synchronous = FULL`), so quitting or crashing the app loses nothing.
 *   An optional local change (the optimistic copy) is written in the same
 *   transaction.
 * - Every write carries an idempotency key (a UUID) the server records with
 *   its answer (server/idempotency.ts). If the app dies after the server
 *   applied a write but before the outbox recorded it, the next replay sends
 *   the same key and gets the first answer back: applied exactly once.
 * - Replay is strictly in order, one write at a time. A network or 5xx
 *   failure holds the whole queue and is retried with exponential backoff
 *   (and jitter); after `retry.attempts` tries the replay stops and waits for
 *   the next `replay()` (e.g. on reconnect). A signed-out answer stops it at
 *   once.
 * - A CONFLICT answer (the entity changed on the server) marks the write
 *   `conflict` with the server's details (`currentVersion`), for the user to
 *   resolve: `keepMine` resends it on the server's version, `takeTheirs`
 *   drops it and the later writes on the same entity. Other refusals mark it
 *   `failed` with the message (`retry` or `discard`). Later writes on the
 *   same entity wait behind a conflict or failure; writes on other entities
 *   go on.
 * - Writes on the same entity chain: when one lands, the later ones are
 *   rebased on the version the server answered with, so a user's second
 *   offline edit does not conflict with their first.
 *
 * The transport is injected (a tRPC client's `mutation(path, input)` fits),
 * so this runs and is tested under plain Node.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { EntityRef } from './kinds.ts';
import type { AnyRecordWrite, LocalCache } from './local-cache.ts';
import { CacheError, type CacheInput, type LocalChange, type OutboxItem, type ProblemDetails } from './protocol.ts';
import { isOutboxProcedure, outboxWrites, type OutboxProcedure, type OutboxWriteInput } from './outbox-writes.ts';
import { classifyServerFailure, type ServerFailure } from './server-failures.ts';

export interface OutboxTransport {
  /**
   * Sends one write, a tRPC mutation, with its input (idempotencyKey and
   * baseVersion included); resolves with the server's answer, rejects with
   * the client's error (classified by server-failures.ts).
   */
  mutate(procedure: OutboxProcedure, input: Record<string, unknown>): Promise<unknown>;
}

export interface OutboxRetryPolicy {
  /** Tries per write within one replay before it stops (default 5). */
  attempts: number;
  /** First delay; doubles each try, with jitter (default 500 ms). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface OutboxOptions {
  cache: LocalCache;
  transport: OutboxTransport;
  retry?: Partial<OutboxRetryPolicy>;
  /**
   * The cached copy to keep for a write's answer (e.g. the saved draft), or
   * null. Written in the same transaction that removes the write.
   */
  serverRecord?: (item: OutboxItem, answer: unknown) => AnyRecordWrite | null;
  /** Told about every write the server applied, after it left the queue. */
  onApplied?: (item: OutboxItem, answer: unknown) => void;
  now?: () => number;
  random?: () => number;
}

export type OutboxStopReason = 'unreachable' | 'unavailable' | 'unauthenticated';

export interface OutboxState {
  /** Writes waiting to be sent ("3 changes waiting to send"), including those held behind a conflict. */
  waiting: number;
  conflicts: OutboxItem[];
  failed: OutboxItem[];
  /** The write on its way to the server now. */
  sending: OutboxItem | null;
  replaying: boolean;
  /** Why sending is held: retrying at `retryAt`, or (retryAt null) until the next replay. */
  held: { reason: OutboxStopReason; message: string; retryAt: number | null } | null;
}

export interface ReplayReport {
  applied: number;
  conflicts: number;
  failed: number;
  /** Writes still waiting when the replay ended. */
  waiting: number;
  held: OutboxState['held'];
}

export interface EnqueueOptions {
  /** The entity version the user edited (required for procedures that take one). */
  baseVersion?: number | null;
  /** The optimistic change to the cached copy, written with the queued write. */
  localChange?: LocalChange;
}

const DEFAULT_RETRY: OutboxRetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

export class Outbox {
  private readonly cache: LocalCache;
  private readonly transport: OutboxTransport;
  private readonly retry: OutboxRetryPolicy;
  private readonly options: OutboxOptions;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly listeners = new Set<(state: OutboxState) => void>();
  private current: OutboxState = { waiting: 0, conflicts: [], failed: [], sending: null, replaying: false, held: null };
  private running: Promise<ReplayReport> | null = null;
  private again = false;
  private abort = new AbortController();
  private online = false;

  constructor(options: OutboxOptions) {
    this.options = options;
    this.cache = options.cache;
    this.transport = options.transport;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** An outbox over the cache's queue, with its state loaded. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(options);
    await outbox.refresh();
    return outbox;
  }

  get state(): OutboxState {
    return this.current;
  }

  /** Called with the new state on every change; returns the unsubscribe function. */
  subscribe(listener: (state: OutboxState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Queues a write; resolves once it is on disk. Sends it at once when online.
   * The input is checked against the procedure's shared schema first.
   * Rejects with a CacheError (INVALID_REQUEST for a write that cannot be sent).
   */
  async enqueue<P extends OutboxProcedure>(
    procedure: P,
    input: OutboxWriteInput<P>,
    options: EnqueueOptions = {},
  ): Promise<OutboxItem> {
    if (!isOutboxProcedure(procedure))
      throw new CacheError('INVALID_REQUEST', `${String(procedure)} cannot be queued.`);
    const write = outboxWrites[procedure];
    const parsed = write.input.safeParse(input);
    if (!parsed.success) throw new CacheError('INVALID_REQUEST', `${procedure}: ${z.prettifyError(parsed.error)}`);
    const baseVersion = options.baseVersion ?? null;
    if (write.baseVersion === 'required' && baseVersion === null) {
      throw new CacheError('INVALID_REQUEST', `${procedure} needs a base version.`);
    }
    const request: CacheInput<'outboxEnqueue'> = {
      id: randomUUID(),
      idempotencyKey: randomUUID(),
      procedure,
      input: parsed.data,
      entity: (write.entity as (input: unknown) => EntityRef)(parsed.data),
      baseVersion,
    };
    if (options.localChange !== undefined) request.localChange = options.localChange;
    const item = await this.cache.request('outboxEnqueue', request);
    await this.refresh();
    if (this.online) this.replayInBackground();
    return item;
  }

  list(): Promise<OutboxItem[]> {
    return this.cache.request('outboxList', {});
  }

  /**
   * Told by the app when the server is reachable (the connection's state):
   * going online replays; going offline stops a replay between writes.
   */
  setOnline(online: boolean): void {
    this.online = online;
    if (online) this.replayInBackground();
    else this.stop();
  }

  /** Stops a running replay (between writes, or during a backoff wait). */
  stop(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  /**
   * Sends waiting writes in order until none can be sent. One replay at a
   * time: calling it during a replay returns that replay (which looks again
   * before it ends). Rejects only if the cache fails (CacheError).
   */
  replay(): Promise<ReplayReport> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<ReplayReport> => {
      try {
        let report: ReplayReport;
        do {
          this.again = false;
          report = await this.replayOnce(this.abort.signal);
        } while (this.again && report.held === null);
        return report;
      } finally {
        this.running = null;
      }
    };
    this.running = run();
    return this.running;
  }

  /** A conflict: resend my version on top of the server's. A failure: send it again. */
  async keepMine(id: string): Promise<OutboxItem> {
    const item = await this.item(id);
    if (item.status === 'pending') throw new CacheError('WRONG_STATE', 'This change is already waiting to send.');
    const serverVersion = item.problem?.details['currentVersion'];
    const baseVersion =
      item.status === 'conflict' && typeof serverVersion === 'number' ? serverVersion : item.baseVersion;
    // A new key: the resent write is a different request (another base version) from the refused one.
    const resent = await this.cache.request('outboxResend', { id, idempotencyKey: randomUUID(), baseVersion });
    await this.refresh();
    if (this.online) this.replayInBackground();
    return resent;
  }

  /** A conflict: keep the server's version; this write and later ones on the same entity are dropped. */
  async takeTheirs(id: string): Promise<string[]> {
    const item = await this.item(id);
    if (item.status === 'pending')
      throw new CacheError('WRONG_STATE', 'This change is waiting to send, not in conflict.');
    const { dropped } = await this.cache.request('outboxDrop', { id, withFollowers: true });
    await this.refresh();
    if (this.online) this.replayInBackground();
    return dropped;
  }

  /** A failed write: send it again (e.g. after the cause was fixed). */
  retryFailed(id: string): Promise<OutboxItem> {
    return this.keepMine(id);
  }

  /** A failed write: give it up, with the later writes on the same entity. */
  discard(id: string): Promise<string[]> {
    return this.takeTheirs(id);
  }

  private async replayOnce(signal: AbortSignal): Promise<ReplayReport> {
    const report: ReplayReport = { applied: 0, conflicts: 0, failed: 0, waiting: 0, held: null };
    this.update({ replaying: true, held: null });
    let tries = 0;
    let triedId: string | null = null;
    try {
      while (!signal.aborted) {
        const items = await this.list();
        this.publish(items);
        const next = nextToSend(items);
        if (next === undefined) break;
        if (next.id !== triedId) {
          triedId = next.id;
          tries = 0;
        }
        this.update({ sending: next });
        let answer: unknown;
        try {
          answer = await this.transport.mutate(next.procedure, wireInput(next));
        } catch (error) {
          const failure = classifyServerFailure(error);
          if (failure.type === 'conflict' || failure.type === 'refused') {
            await this.cache.request('outboxProblem', problemOf(next.id, failure));
            if (failure.type === 'conflict') report.conflicts++;
            else report.failed++;
            continue;
          }
          tries++;
          const giveUp = failure.type === 'unauthenticated' || tries >= this.retry.attempts;
          const retryAt = giveUp ? null : this.now() + this.delay(tries);
          await this.cache.request('outboxAttemptFailed', {
            id: next.id,
            error: failure.message.slice(0, 2_000),
            nextAttemptAt: retryAt,
          });
          const held = { reason: failure.type, message: failure.message, retryAt };
          this.update({ sending: null, held });
          if (retryAt === null) {
            report.held = held;
            break;
          }
          await sleep(retryAt - this.now(), undefined, { signal }).catch(() => undefined);
          continue;
        }
        const record = this.options.serverRecord?.(next, answer) ?? null;
        await this.cache.request('outboxApplied', {
          id: next.id,
          resultVersion: versionOf(answer),
          ...(record === null ? {} : { serverRecord: record }),
        });
        report.applied++;
        this.update({ held: null });
        this.options.onApplied?.(next, answer);
      }
    } finally {
      this.update({ sending: null, replaying: false });
    }
    const items = await this.list();
    this.publish(items);
    report.waiting = this.current.waiting;
    return report;
  }

  private replayInBackground(): void {
    // Failures show in the state (held) or come from the cache closing: nothing to throw to.
    this.replay().catch(() => undefined);
  }

  private delay(tries: number): number {
    const exponential = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (tries - 1));
    // Full jitter in the upper half: many clients coming back at once do not all retry together.
    return Math.round(exponential * (0.5 + this.random() / 2));
  }

  private async item(id: string): Promise<OutboxItem> {
    const item = (await this.list()).find((candidate) => candidate.id === id);
    if (item === undefined) throw new CacheError('NOT_FOUND', `No outbox item ${id}.`);
    return item;
  }

  private async refresh(): Promise<void> {
    this.publish(await this.list());
  }

  private publish(items: OutboxItem[]): void {
    this.update({
      waiting: items.filter((item) => item.status === 'pending').length,
      conflicts: items.filter((item) => item.status === 'conflict'),
      failed: items.filter((item) => item.status === 'failed'),
    });
  }

  private update(change: Partial<OutboxState>): void {
    this.current = { ...this.current, ...change };
    for (const listener of this.listeners) listener(this.current);
  }
}

/** The first pending write not held behind a conflict or failure on its entity. */
export function nextToSend(items: readonly OutboxItem[]): OutboxItem | undefined {
  const held = new Set<string>();
  for (const item of items) {
    const entity = item.entity === null ? null : `${item.entity.kind}\u0000${item.entity.id}`;
    if (item.status !== 'pending') {
      if (entity !== null) held.add(entity);
      continue;
    }
    if (entity !== null && held.has(entity)) continue;
    return item;
  }
  return undefined;
}

/** What the procedure is sent: the input, the key, and the base version when there is one. */
function wireInput(item: OutboxItem): Record<string, unknown> {
  return {
    ...item.input,
    idempotencyKey: item.idempotencyKey,
    ...(item.baseVersion === null ? {} : { baseVersion: item.baseVersion }),
  };
}

/** The entity's version after the write, from an answer shaped `{ version: number }`. */
function versionOf(answer: unknown): number | null {
  const version = (answer as { version?: unknown } | null)?.version;
  return typeof version === 'number' && Number.isInteger(version) && version >= 0 ? version : null;
}

function problemOf(id: string, failure: Extract<ServerFailure, { type: 'conflict' | 'refused' }>) {
  const details: ProblemDetails =
    failure.type === 'refused' ? { appCode: failure.appCode, ...failure.details } : failure.details;
  return {
    id,
    status: failure.type === 'conflict' ? ('conflict' as const) : ('failed' as const),
    message: failure.message.slice(0, 2_000),
    details,
  };
}
