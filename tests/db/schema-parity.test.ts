/**
 * The migrations are the schema's single source: applied to SQLite and to a
 * real PostgreSQL they must produce the same tables, columns, keys and
 * indexes, and roll back cleanly on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../server/db/connect.ts';
import { migrateDownOne, migrateToLatest } from '../../server/db/migrate.ts';
import { migrations } from '../../server/db/migrations/index.ts';
import { describeSchema } from '../../server/db/schema-snapshot.ts';
import { createScratchDatabase, postgresUnavailableReason, type ScratchDatabase } from '../support/postgres.ts';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'megilance-parity-'));
let sqlite: DatabaseHandle;
let postgres: DatabaseHandle | undefined;
let scratch: ScratchDatabase | undefined;
let skipReason: string | null = null;

beforeAll(async () => {
  sqlite = openDatabase({ engine: 'sqlite', file: join(dir, 'parity.sqlite') }, logger, 1_000);
  skipReason = await postgresUnavailableReason();
  if (skipReason !== null) {
    console.warn(`[schema parity] skipping PostgreSQL half: ${skipReason}`);
    return;
  }
  scratch = await createScratchDatabase();
  postgres = openDatabase({ engine: 'postgres', url: scratch.url }, logger, 1_000);
});

afterAll(async () => {
  await sqlite.close();
  await postgres?.close();
  await scratch?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrations', () => {
  it('apply every numbered migration in order on SQLite', async () => {
    const report = await migrateToLatest(sqlite.db, 'sqlite');
    expect(report.applied).toEqual(Object.keys(migrations));
    expect(Object.keys(migrations)).toEqual([...Object.keys(migrations)].sort());
    expect((await migrateToLatest(sqlite.db, 'sqlite')).applied).toEqual([]);
  });

  it('produce the same schema on SQLite and PostgreSQL', async (ctx) => {
    if (postgres === undefined) return ctx.skip(skipReason ?? 'PostgreSQL unavailable');
    await migrateToLatest(postgres.db, 'postgres');
    const onSqlite = await describeSchema(sqlite.db, 'sqlite');
    const onPostgres = await describeSchema(postgres.db, 'postgres');
    expect(Object.keys(onSqlite)).toContain('users');
    expect(onPostgres).toEqual(onSqlite);
  });

  it('store and read back the same values on both engines (bigint as number)', async (ctx) => {
    if (postgres === undefined) return ctx.skip(skipReason ?? 'PostgreSQL unavailable');
    const big = 2 ** 53 - 1;
    for (const handle of [sqlite, postgres]) {
      await handle.db
        .insertInto('idempotency_keys')
        .values({ scope: 's', key: 'k', request_hash: 'h', response_json: null, created_at: big })
        .execute();
      const row = await handle.db.selectFrom('idempotency_keys').selectAll().executeTakeFirstOrThrow();
      expect(row).toEqual({ scope: 's', key: 'k', request_hash: 'h', response_json: null, created_at: big });
      await handle.db.deleteFrom('idempotency_keys').execute();
    }
  });

  it('enforce the unique email key on both engines', async () => {
    for (const handle of [sqlite, postgres].filter((h): h is DatabaseHandle => h !== undefined)) {
      const row = { email: 'a@b.c', email_normalized: 'a@b.c', display_name: 'A', created_at: 1, updated_at: 1 };
      await handle.db
        .insertInto('users')
        .values({ id: 'one', ...row })
        .execute();
      await expect(
        handle.db
          .insertInto('users')
          .values({ id: 'two', ...row })
          .execute(),
      ).rejects.toThrow(/unique/i);
      await handle.db.deleteFrom('users').execute();
    }
  });

  it('roll back to empty and re-apply on both engines', async () => {
    for (const handle of [sqlite, postgres].filter((h): h is DatabaseHandle => h !== undefined)) {
      for (let i = 0; i < Object.keys(migrations).length; i++) await migrateDownOne(handle.db, handle.engine);
      const tables = Object.keys(await describeSchema(handle.db, handle.engine)).filter(
        (t) => !t.startsWith('kysely_'),
      );
      expect(tables).toEqual([]);
      expect((await migrateToLatest(handle.db, handle.engine)).current).toBe(Object.keys(migrations).at(-1));
    }
  });
});
