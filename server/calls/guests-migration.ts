/**
 * Guests by link (migration 0014_call_guests): a meeting's invite links and
 * the guests who joined through them. Portable conventions
 * (server/db/README.md): text keys, instants as epoch milliseconds in
 * `bigint`. Secrets are stored only as SHA-256. Table types: `GuestTables`
 * (guests.ts).
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('call_invites')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('call_invites_meeting_idx')
    .on('call_invites')
    .columns(['meeting_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('call_guests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('invite_id', 'text', (c) => c.notNull().references('call_invites.id').onDelete('cascade'))
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  // Named unique indexes: the engines' own names for inline UNIQUE differ (tests/db/schema-parity.test.ts).
  await db.schema.createIndex('call_invites_token_hash_idx').unique().on('call_invites').column('token_hash').execute();
  await db.schema.createIndex('call_guests_token_hash_idx').unique().on('call_guests').column('token_hash').execute();
  await db.schema.createIndex('call_guests_invite_idx').on('call_guests').column('invite_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('call_guests').execute();
  await db.schema.dropTable('call_invites').execute();
}
