/**
 * Exactly-once writes on a real database: a migrated SQLite file (and the
 * same suite on a scratch PostgreSQL when one is reachable, where duplicates
 * really run concurrently on separate connections). The write under test
 * bumps a counter in a table of the test's own, so "ran once" is a fact in
 * the database, not a spy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely, type Transaction } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../shared/errors.ts';
import { createScratchDatabase, postgresUnavailableReason, type ScratchDatabase } from '../tests/support/postgres.ts';
import { openDatabase, type DatabaseHandle } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { Database } from './db/schema.ts';
import { hashRequest, idempotencyScope, pruneIdempotencyKeys, runIdempotent } from './idempotency.ts';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'megilance-idempotency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const postgresSkip = await postgresUnavailableReason();

type CounterTables = { test_counters: { name: string; value: number } };

describe.each([
  { engine: 'sqlite' as const, skip: null },
  { engine: 'postgres' as const, skip: postgresSkip },
])('runIdempotent on $engine', ({ engine, skip }) => {
  let scratch: ScratchDatabase | undefined;
  let handle: DatabaseHandle;
  let db: Kysely<Database>;

  beforeAll(async () => {
    if (skip !== null) return;
    if (engine === 'postgres') scratch = await createScratchDatabase();
    handle =
      engine === 'sqlite'
        ? openDatabase({ engine, file: join(dir, `${crypto.randomUUID()}.sqlite`) }, logger, 1_000)
        : openDatabase({ engine, url: scratch!.url }, logger, 1_000);
    db = handle.db;
    await migrateToLatest(db, engine);
    await sql`create table test_counters (name text primary key, value integer not null)`.execute(db);
  });
  afterAll(async () => {
    if (skip !== null) return;
    await handle.close();
    await scratch?.drop();
  });

  /** The write under test: adds one to `name`'s counter and answers with the new value and a date. */
  function bump(name: string, pauseMs = 0) {
    return async (trx: Transaction<Database>) => {
      const tables = trx.$extendTables<CounterTables>();
      await tables
        .insertInto('test_counters')
        .values({ name, value: 1 })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value: sql`test_counters.value + 1` }))
        .execute();
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const { value } = await tables
        .selectFrom('test_counters')
        .select('value')
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      return { value, at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) };
    };
  }

  async function counter(name: string): Promise<number> {
    const row = await db
      .$extendTables<CounterTables>()
      .selectFrom('test_counters')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.value ?? 0;
  }

  const keyed = (key: string | undefined, request: unknown = { body: 'hello' }, user = 'ada') => ({
    scope: idempotencyScope(user, 'test.bump'),
    key,
    request,
  });

  it.skipIf(skip !== null)('runs a keyed write once and answers repeats with the stored result', async () => {
    const name = crypto.randomUUID();
    const key = crypto.randomUUID();
    const first = await runIdempotent(db, keyed(key), bump(name));
    const again = await runIdempotent(db, keyed(key), bump(name));
    const thrice = await runIdempotent(db, keyed(key, { body: 'hello' }), bump(name));
    expect(first).toEqual({ value: 1, at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) });
    // The stored answer comes back as the same value, dates included (superjson).
    expect(again).toEqual(first);
    expect(again.at).toBeInstanceOf(Date);
    expect(thrice).toEqual(first);
    expect(await counter(name)).toBe(1);
  });

  it.skipIf(skip !== null)('refuses the same key with a different request, without running it', async () => {
    const name = crypto.randomUUID();
    const key = crypto.randomUUID();
    await runIdempotent(db, keyed(key, { body: 'hello' }), bump(name));
    const refusal = await runIdempotent(db, keyed(key, { body: 'other' }), bump(name)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({
      code: 'VALIDATION_FAILED',
      fieldErrors: { idempotencyKey: [expect.any(String)] },
      details: { reason: 'idempotency_key_reused' },
    });
    expect(await counter(name)).toBe(1);
  });

  it.skipIf(skip !== null)("keeps users' keys apart: another user's identical key runs their own write", async () => {
    const name = crypto.randomUUID();
    const key = crypto.randomUUID();
    expect((await runIdempotent(db, keyed(key, undefined, 'ada'), bump(name))).value).toBe(1);
    expect((await runIdempotent(db, keyed(key, undefined, 'grace'), bump(name))).value).toBe(2);
    expect(await counter(name)).toBe(2);
  });

  it.skipIf(skip !== null)('records nothing when the write fails, so a retry with the same key runs', async () => {
    const name = crypto.randomUUID();
    const key = crypto.randomUUID();
    const failing = async (trx: Transaction<Database>) => {
      await bump(name)(trx);
      throw new AppError('CONFLICT', { details: { currentVersion: 3 } });
    };
    await expect(runIdempotent(db, keyed(key), failing)).rejects.toMatchObject({ code: 'CONFLICT' });
    // The transaction rolled back: neither the counter nor the key was written.
    expect(await counter(name)).toBe(0);
    expect((await runIdempotent(db, keyed(key), bump(name))).value).toBe(1);
  });

  it.skipIf(skip !== null)('runs concurrent duplicates once; every caller gets the same answer', async () => {
    const name = crypto.randomUUID();
    const key = crypto.randomUUID();
    // The pause holds the first transaction open so the others arrive while it runs.
    const answers = await Promise.all(Array.from({ length: 6 }, () => runIdempotent(db, keyed(key), bump(name, 40))));
    expect(new Set(answers.map((a) => a.value))).toEqual(new Set([1]));
    expect(await counter(name)).toBe(1);
  });

  it.skipIf(skip !== null)('runs an unkeyed write every time', async () => {
    const name = crypto.randomUUID();
    await runIdempotent(db, keyed(undefined), bump(name));
    await runIdempotent(db, keyed(undefined), bump(name));
    expect(await counter(name)).toBe(2);
  });

  it.skipIf(skip !== null)('prunes keys older than a cut-off, after which the key runs again', async () => {
    const name = crypto.randomUUID();
    const key = crypto.randomUUID();
    await runIdempotent(db, keyed(key), bump(name), () => 1_000);
    expect(await pruneIdempotencyKeys(db, 2_000)).toBeGreaterThanOrEqual(1);
    expect((await runIdempotent(db, keyed(key), bump(name))).value).toBe(2);
  });
});

describe('hashRequest', () => {
  it('ignores key order and undefined members, and tells different requests apart', () => {
    expect(hashRequest({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(hashRequest({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(hashRequest({ a: 1, gone: undefined })).toBe(hashRequest({ a: 1 }));
    expect(hashRequest({ a: 1 })).not.toBe(hashRequest({ a: 2 }));
    expect(hashRequest({ list: [1, 2] })).not.toBe(hashRequest({ list: [2, 1] }));
    expect(hashRequest({ a: null })).not.toBe(hashRequest({ a: 'null' }));
  });
});
