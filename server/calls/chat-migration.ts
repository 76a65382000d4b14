/**
 * In-call chat (migration 0015_call_chat): a meeting's messages, kept with the
 * meeting so people who join later (and the meeting's page) can read them.
 * The sender is an account or a guest by link (name kept as shown then).
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('call_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    .addColumn('sender_user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('sender_guest_id', 'text')
    .addColumn('sender_name', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('call_messages_meeting_idx')
    .on('call_messages')
    .columns(['meeting_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('call_messages').execute();
}
