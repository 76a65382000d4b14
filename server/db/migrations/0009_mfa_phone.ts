import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * SMS codes as a second factor: one verified mobile number per user. A row
 * with confirmed_at null is a number waiting for the code texted to it. The
 * codes themselves live in `email_codes` (the table of every one-time code,
 * whatever carries it) under the `sms_*` purposes.
 */
export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('mfa_phone')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // E.164, e.g. +447700900123.
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('confirmed_at', 'bigint')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mfa_phone').execute();
}
