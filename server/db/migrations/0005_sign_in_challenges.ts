import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * A sign-in that passed its password but must still prove a second factor
 * (risk decision or the account's own MFA). The session is created only
 * when the challenge is completed.
 */
export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('sign_in_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('device_json', 'text', (c) => c.notNull())
    .addColumn('assessment_json', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_in_challenges_user_id_idx').on('sign_in_challenges').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sign_in_challenges').execute();
}
