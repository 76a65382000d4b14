/**
 * The delivery slice's table, to be registered as the next numbered
 * migration. Portable conventions (server/db/README.md): text keys, instants
 * as epoch milliseconds in `bigint`, the same DDL on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  // One row per destination phone number: the instants of its recent SMS, so
  // the per-number limit survives restarts and holds across API nodes.
  // `version` makes each update a compare-and-swap (no engine-specific locks).
  await db.schema
    .createTable('sms_rate_limits')
    .addColumn('destination', 'text', (c) => c.primaryKey())
    .addColumn('sent_at_json', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // Rows idle for longer than the window are deleted by updated_at.
  await db.schema.createIndex('sms_rate_limits_updated_at_idx').on('sms_rate_limits').column('updated_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sms_rate_limits').execute();
}
