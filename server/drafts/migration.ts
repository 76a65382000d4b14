/**
 * The drafts table (migration 0010_drafts). Portable conventions
 * (server/db/README.md): text keys, instants as epoch milliseconds in
 * `bigint`, the same DDL on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  // The key is (user_id, id): ids are chosen by clients, so each user has a
  // namespace of their own and one user's id can never collide with, reveal
  // or overwrite another's draft. A removed draft stays as a row without its
  // text (removed_at set) so its version keeps counting and a stale write
  // from an offline device still conflicts instead of quietly recreating it.
  await db.schema
    .createTable('drafts')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject_ref', 'text')
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('removed_at', 'bigint')
    .addPrimaryKeyConstraint('drafts_pkey', ['user_id', 'id'])
    .execute();
  // drafts.list: a user's drafts, newest change first, paged by (updated_at, id).
  await db.schema
    .createIndex('drafts_user_updated_idx')
    .on('drafts')
    .columns(['user_id', 'updated_at', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('drafts').execute();
}
