/**
 * Call history and recordings (migration 0012_recordings). Portable
 * conventions (server/db/README.md): text keys, instants as epoch
 * milliseconds in `bigint`, the same DDL on SQLite and PostgreSQL. Table
 * types: `CallHistoryTables` (history.ts) and `RecordingTables`
 * (recording-store.ts).
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  // One row per call: from the first person joining to the room closing.
  await db.schema
    .createTable('call_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('call_sessions_meeting_started_idx')
    .on('call_sessions')
    .columns(['meeting_id', 'started_at'])
    .execute();

  // One row per time someone was in a call (leaving and coming back makes a second row).
  await db.schema
    .createTable('call_participations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('call_sessions.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addColumn('left_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('call_participations_session_idx')
    .on('call_participations')
    .column('session_id')
    .execute();
  await db.schema
    .createIndex('call_participations_user_idx')
    .on('call_participations')
    .columns(['user_id', 'joined_at'])
    .execute();

  await db.schema
    .createTable('recordings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    // The call it was made in (no foreign key: the session row is written asynchronously).
    .addColumn('session_id', 'text')
    .addColumn('started_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addColumn('duration_ms', 'bigint')
    .addColumn('size_bytes', 'bigint')
    // The file under <data dir>/recordings/<meeting_id>/ on the node that recorded it.
    .addColumn('file_name', 'text', (c) => c.notNull())
    // 'recording' | 'ready' | 'failed'.
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .execute();
  await db.schema
    .createIndex('recordings_meeting_started_idx')
    .on('recordings')
    .columns(['meeting_id', 'started_at'])
    .execute();
  // Retention: the oldest first.
  await db.schema.createIndex('recordings_started_at_idx').on('recordings').column('started_at').execute();
  await db.schema.createIndex('recordings_session_idx').on('recordings').column('session_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('recordings').execute();
  await db.schema.dropTable('call_participations').execute();
  await db.schema.dropTable('call_sessions').execute();
}
