import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

/**
 * The scheduler (migration 0013_schedule): each user's time zone and working
 * hours, what a scheduled meeting carries beyond its time (a description, a
 * calendar SEQUENCE, a cancellation reason), and the reminders already sent,
 * so a reminder goes out once however many nodes run the reminder loop.
 * Table types: `MeetingTables` in server/meetings/meetings.ts.
 */
export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('user_availability')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // IANA zone, e.g. America/New_York.
    .addColumn('time_zone', 'text', (c) => c.notNull())
    // Working hours per weekday in that zone: {"mon":[{"start":"09:00","end":"17:00"}],…,"sun":[]}.
    .addColumn('weekly_json', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('meetings').addColumn('description', 'text').execute();
  // iCalendar SEQUENCE: bumped by every reschedule and by the cancellation.
  await db.schema
    .alterTable('meetings')
    .addColumn('sequence', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('meetings').addColumn('cancel_reason', 'text').execute();
  // The reminder loop looks for scheduled meetings starting soon.
  await db.schema.createIndex('meetings_starts_at_idx').on('meetings').column('starts_at').execute();

  await db.schema
    .createTable('meeting_reminders')
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // The start the reminder was for: a rescheduled meeting is reminded of again.
    .addColumn('starts_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('meeting_reminders_pkey', ['meeting_id', 'user_id', 'starts_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('meeting_reminders').execute();
  await db.schema.dropIndex('meetings_starts_at_idx').execute();
  await db.schema.alterTable('meetings').dropColumn('cancel_reason').execute();
  await db.schema.alterTable('meetings').dropColumn('sequence').execute();
  await db.schema.alterTable('meetings').dropColumn('description').execute();
  await db.schema.dropTable('user_availability').execute();
}
