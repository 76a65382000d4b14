import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

/**
 * Meetings: what a call belongs to. A meeting has a host and invited
 * participants; who may join its call is decided from these rows. Later
 * capabilities (contracts, conversations) own meetings through `owner_kind`
 * + `owner_id` without changing this table. Table types: `MeetingTables` in
 * server/meetings/meetings.ts.
 */
export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('meetings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('host_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // 'adhoc' (a call started now) or 'scheduled'.
    .addColumn('kind', 'text', (c) => c.notNull())
    // What owns the meeting, when something does (e.g. 'contract' + its id); null for a plain meeting.
    .addColumn('owner_kind', 'text')
    .addColumn('owner_id', 'text')
    .addColumn('starts_at', 'bigint')
    .addColumn('ends_at', 'bigint')
    // IANA zone the meeting was scheduled in, e.g. Europe/London.
    .addColumn('time_zone', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // Set when the host ends the meeting for everyone: its call cannot be joined again.
    .addColumn('ended_at', 'bigint')
    .execute();
  await db.schema.createIndex('meetings_host_id_idx').on('meetings').column('host_id').execute();

  await db.schema
    .createTable('meeting_participants')
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // 'host' or 'participant'.
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('invited_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('meeting_participants_pkey', ['meeting_id', 'user_id'])
    .execute();
  await db.schema
    .createIndex('meeting_participants_user_id_idx')
    .on('meeting_participants')
    .column('user_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('meeting_participants').execute();
  await db.schema.dropTable('meetings').execute();
}
