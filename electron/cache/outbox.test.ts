/**
 * The outbox's queue discipline over a real cache (worker + SQLite file):
 * order, one write at a time, retries with backoff, holding the queue,
 * conflicts and failures, rebasing chained writes, durability before
 * `enqueue` returns (proved by killing a process right after it).
 *
 * The transport here is a scripted stand-in whose answers each test chooses,
 * shaped like the tRPC client's (errors carry `data.appCode`); the same
 * outbox against the real server, idempotency included, is
 * tests/desktop/cache-offline.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LocalCache } from './local-cache.ts';
import { nextToSend, Outbox, type OutboxOptions, type OutboxState, type OutboxTransport } from './outbox.ts';
import type { OutboxItem } from './protocol.ts';

const root = mkdtempSync(join(tmpdir(), 'megilance-outbox-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const SERVER = 'http://localhost:8420';
let caches: LocalCache[] = [];
afterEach(async () => {
  await Promise.all(caches.map((c) => c.close()));
  caches = [];
});

async function openCache(directory = mkdtempSync(join(root, 'c-'))): Promise<LocalCache> {
  const cache = await LocalCache.open({ directory, serverOrigin: SERVER, accountId: 'ada' });
  caches.push(cache);
  return cache;
}

interface Call {
  procedure: string;
  input: Record<string, unknown>;
}

/** A transport answering each call with `answer(call, n)`, recording calls and how many ran at once. */
function scripted(answer: (call: Call, n: number) => unknown) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const transport: OutboxTransport = {
    async mutate(procedure, input) {
      const call = { procedure, input };
      calls.push(call);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const result = answer(call, calls.length);
        if (result instanceof Error) throw result;
        return result;
      } finally {
        inFlight--;
      }
    },
  };
  return { transport, calls, maxInFlight: () => maxInFlight };
}

const appError = (appCode: string, httpStatus: number, details: Record<string, unknown> | null = null) =>
  Object.assign(new Error(`${appCode} from the server`), { data: { appCode, httpStatus, details, fieldErrors: null } });
/** What fetch throws when nothing listens. */
const networkDown = () => new TypeError('fetch failed');

function outboxOver(cache: LocalCache, transport: OutboxTransport, extra: Partial<OutboxOptions> = {}) {
  return Outbox.open({
    cache,
    transport,
    retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 40 },
    random: () => 1,
    ...extra,
  });
}

const draft = (id: string, body: string) => ({ id, kind: 'note' as const, title: 'Note', body });
const saved = (call: Call) => ({ ...call.input, version: (call.input['baseVersion'] as number) + 1 });

describe('Outbox', () => {
  it('replays in order, one write at a time, each with its own idempotency key and base version', async () => {
    const cache = await openCache();
    const server = scripted(saved);
    const outbox = await outboxOver(cache, server.transport);
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    await outbox.enqueue('drafts.save', draft(a, 'a1'), { baseVersion: 0 });
    await outbox.enqueue('drafts.save', draft(b, 'b1'), { baseVersion: 3 });
    await outbox.enqueue('drafts.remove', { id: a });
    expect(outbox.state.waiting).toBe(3);

    const report = await outbox.replay();
    expect(report).toEqual({ applied: 3, conflicts: 0, failed: 0, waiting: 0, held: null });
    expect(server.maxInFlight()).toBe(1);
    expect(server.calls.map((c) => [c.procedure, c.input['id'], c.input['baseVersion']])).toEqual([
      ['drafts.save', a, 0],
      ['drafts.save', b, 3],
      ['drafts.remove', a, undefined],
    ]);
    const keys = server.calls.map((c) => c.input['idempotencyKey']);
    expect(new Set(keys).size).toBe(3);
    expect(await outbox.list()).toEqual([]);
  });

  it('rebases a later write on the version the earlier one on the same entity produced', async () => {
    const cache = await openCache();
    const server = scripted((call) => ({ version: call.input['baseVersion'] === 4 ? 7 : 8 }));
    const outbox = await outboxOver(cache, server.transport);
    const id = crypto.randomUUID();
    await outbox.enqueue('drafts.save', draft(id, 'first edit'), { baseVersion: 4 });
    // The UI guessed 5 for the second edit; the server actually answered 7 (someone else saved meanwhile).
    await outbox.enqueue('drafts.save', draft(id, 'second edit'), { baseVersion: 5 });
    await outbox.replay();
    expect(server.calls.map((c) => c.input['baseVersion'])).toEqual([4, 7]);
  });

  it('retries a network or 5xx failure with growing delays, holding the queue, with the same key', async () => {
    const cache = await openCache();
    const server = scripted((call, n) => (n === 1 ? networkDown() : n === 2 ? appError('INTERNAL', 500) : saved(call)));
    const outbox = await outboxOver(cache, server.transport);
    const held: OutboxState['held'][] = [];
    outbox.subscribe((state) => held.push(state.held));
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'x'), { baseVersion: 0 });
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'y'), { baseVersion: 0 });
    const started = Date.now();
    expect(await outbox.replay()).toMatchObject({ applied: 2, waiting: 0, held: null });
    // Backoff of 5 then 10 ms (jitter pinned to the top): the second write waited behind the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(server.calls.map((c) => c.input['body'])).toEqual(['x', 'x', 'x', 'y']);
    expect(new Set(server.calls.slice(0, 3).map((c) => c.input['idempotencyKey'])).size).toBe(1);
    // Each failure is one hold (the state repeats it on every change until the next).
    expect([...new Set(held)].filter((h) => h !== null).map((h) => h.reason)).toEqual(['unreachable', 'unavailable']);
  });

  it('stops after the last try, leaving every write queued for the next replay', async () => {
    const cache = await openCache();
    let down = true;
    const server = scripted((call) => (down ? networkDown() : saved(call)));
    const outbox = await outboxOver(cache, server.transport);
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'x'), { baseVersion: 0 });
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'y'), { baseVersion: 0 });
    const report = await outbox.replay();
    expect(report).toMatchObject({ applied: 0, waiting: 2, held: { reason: 'unreachable', retryAt: null } });
    expect(server.calls).toHaveLength(4);
    const [first] = await outbox.list();
    expect(first).toMatchObject({ status: 'pending', attempts: 4, lastError: 'fetch failed' });

    down = false;
    expect(await outbox.replay()).toMatchObject({ applied: 2, waiting: 0, held: null });
  });

  it('stops at once when the session is gone', async () => {
    const cache = await openCache();
    const server = scripted(() => appError('UNAUTHENTICATED', 401));
    const outbox = await outboxOver(cache, server.transport);
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'x'), { baseVersion: 0 });
    expect(await outbox.replay()).toMatchObject({ waiting: 1, held: { reason: 'unauthenticated' } });
    expect(server.calls).toHaveLength(1);
  });

  it('marks a conflict with the server version, holds that entity, goes on with others; keepMine resends', async () => {
    const cache = await openCache();
    const versions = new Map<string, number>();
    const server = scripted((call) => {
      const id = call.input['id'] as string;
      const current = versions.get(id) ?? 0;
      if (call.input['baseVersion'] !== current)
        return appError('CONFLICT', 409, { currentVersion: current, removed: false });
      versions.set(id, current + 1);
      return { version: current + 1 };
    });
    const outbox = await outboxOver(cache, server.transport);
    const [mine, other] = [crypto.randomUUID(), crypto.randomUUID()];
    versions.set(mine, 6); // changed on another device while this one was offline at version 2
    const conflicting = await outbox.enqueue('drafts.save', draft(mine, 'my edit'), { baseVersion: 2 });
    await outbox.enqueue('drafts.save', draft(mine, 'my second edit'), { baseVersion: 3 });
    await outbox.enqueue('drafts.save', draft(other, 'unrelated'), { baseVersion: 0 });

    expect(await outbox.replay()).toMatchObject({ applied: 1, conflicts: 1, waiting: 1 });
    expect(outbox.state.conflicts).toEqual([
      expect.objectContaining({
        id: conflicting.id,
        status: 'conflict',
        problem: { message: 'CONFLICT from the server', details: { currentVersion: 6, removed: false } },
      }),
    ]);
    expect(versions.get(other)).toBe(1);
    // The second edit of the conflicting draft was never sent.
    expect(server.calls.filter((c) => c.input['id'] === mine)).toHaveLength(1);

    await outbox.keepMine(conflicting.id);
    expect(await outbox.replay()).toMatchObject({ applied: 2, conflicts: 0, waiting: 0 });
    const resent = server.calls.filter((c) => c.input['id'] === mine).slice(1);
    expect(resent.map((c) => [c.input['body'], c.input['baseVersion']])).toEqual([
      ['my edit', 6],
      ['my second edit', 7],
    ]);
    expect(resent[0]?.input['idempotencyKey']).not.toBe(conflicting.idempotencyKey);
    expect(versions.get(mine)).toBe(8);
  });

  it('takeTheirs drops the conflicting write and the later ones on that entity', async () => {
    const cache = await openCache();
    const server = scripted((call) =>
      call.input['body'] === 'conflicts'
        ? appError('CONFLICT', 409, { currentVersion: 9, removed: false })
        : saved(call),
    );
    const outbox = await outboxOver(cache, server.transport);
    const id = crypto.randomUUID();
    const first = await outbox.enqueue('drafts.save', draft(id, 'conflicts'), { baseVersion: 1 });
    const follower = await outbox.enqueue('drafts.save', draft(id, 'after'), { baseVersion: 2 });
    await outbox.replay();
    expect(await outbox.takeTheirs(first.id)).toEqual([first.id, follower.id]);
    expect(outbox.state).toMatchObject({ waiting: 0, conflicts: [] });
  });

  it('marks a refused write failed with the message and goes on; discard gives it up', async () => {
    const cache = await openCache();
    const server = scripted((call) =>
      call.input['body'] === 'bad' ? appError('VALIDATION_FAILED', 400, { field: 'body' }) : saved(call),
    );
    const outbox = await outboxOver(cache, server.transport);
    const bad = await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'bad'), { baseVersion: 0 });
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'good'), { baseVersion: 0 });
    expect(await outbox.replay()).toMatchObject({ applied: 1, failed: 1, waiting: 0 });
    expect(outbox.state.failed).toEqual([
      expect.objectContaining({
        id: bad.id,
        problem: {
          message: 'VALIDATION_FAILED from the server',
          details: { appCode: 'VALIDATION_FAILED', field: 'body' },
        },
      }),
    ]);
    await outbox.discard(bad.id);
    expect(outbox.state.failed).toEqual([]);
  });

  it('refuses a write it cannot send: unknown fields, a missing base version', async () => {
    const cache = await openCache();
    const outbox = await outboxOver(cache, scripted(saved).transport);
    await expect(outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'x'))).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: /base version/,
    });
    await expect(
      outbox.enqueue('drafts.save', { ...draft('not-a-uuid', 'x') }, { baseVersion: 0 }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await outbox.list()).toEqual([]);
  });

  it('sends on its own when told the server is reachable, and a replay during a replay joins it', async () => {
    const cache = await openCache();
    const server = scripted(saved);
    const outbox = await outboxOver(cache, server.transport);
    const states: number[] = [];
    outbox.subscribe((state) => states.push(state.waiting));
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'x'), { baseVersion: 0 });
    const [one, two] = [outbox.replay(), outbox.replay()];
    expect(one).toBe(two);
    await one;
    outbox.setOnline(true);
    await outbox.enqueue('drafts.save', draft(crypto.randomUUID(), 'y'), { baseVersion: 0 });
    await expect.poll(() => outbox.state.waiting).toBe(0);
    await expect.poll(() => server.calls.length).toBe(2);
    expect(states).toContain(1);
    outbox.setOnline(false);
  });

  it('has the write on disk when enqueue returns: a process killed right after loses nothing', async () => {
    const directory = mkdtempSync(join(root, 'killed-'));
    const script = join(directory, 'enqueue-and-die.ts');
    writeFileSync(
      script,
      `import { LocalCache } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'local-cache.ts')).href)};
       import { Outbox } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'outbox.ts')).href)};
       const cache = await LocalCache.open({ directory: ${JSON.stringify(directory)}, serverOrigin: '${SERVER}', accountId: 'ada' });
       const outbox = await Outbox.open({ cache, transport: { mutate: () => new Promise(() => {}) } });
       const item = await outbox.enqueue('drafts.save', { id: '${crypto.randomUUID()}', kind: 'note', title: 't', body: 'keep me' }, { baseVersion: 0 });
       console.log(item.id);
       process.kill(process.pid, 'SIGKILL');`,
    );
    const run = promisify(execFile)(process.execPath, [script]);
    const failure = await run.then(
      () => null,
      (error: { signal?: string; stdout?: string }) => error,
    );
    expect(failure?.signal).toBe('SIGKILL');
    const queuedId = failure?.stdout?.trim();
    const cache = await openCache(directory);
    const items: OutboxItem[] = await cache.request('outboxList', {});
    expect(items.map((i) => [i.id, i.input['body'], i.status])).toEqual([[queuedId, 'keep me', 'pending']]);
  });
});

describe('nextToSend', () => {
  const item = (seq: number, status: OutboxItem['status'], entityId: string | null): OutboxItem => ({
    id: `i${seq}`,
    seq,
    procedure: 'drafts.save',
    input: {},
    idempotencyKey: `k${seq}`,
    entity: entityId === null ? null : { kind: 'draft', id: entityId },
    baseVersion: 0,
    status,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    problem: null,
    createdAt: 0,
    updatedAt: 0,
  });

  it('takes the first pending write not held behind a problem on its entity', () => {
    expect(nextToSend([item(1, 'conflict', 'a'), item(2, 'pending', 'a'), item(3, 'pending', 'b')])?.id).toBe('i3');
    expect(nextToSend([item(1, 'failed', null), item(2, 'pending', null)])?.id).toBe('i2');
    expect(nextToSend([item(1, 'failed', 'a'), item(2, 'pending', 'a')])).toBeUndefined();
    expect(nextToSend([])).toBeUndefined();
  });
});
