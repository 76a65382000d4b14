import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Two-step verification: an authenticator app (TOTP) per user, one-time
 * backup codes, and the user's default method.
 */
export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  // One authenticator per user. A row with confirmed_at null is a set-up still waiting for its first code.
  await db.schema
    .createTable('mfa_totp')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('confirmed_at', 'bigint')
    // The replay guard: a code is accepted only for a time step after this one (ASVS 2.8.4).
    .addColumn('last_used_step', 'bigint')
    .execute();

  await db.schema
    .createTable('mfa_backup_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('batch_id', 'text', (c) => c.notNull())
    // ASVS 2.6.2: the codes carry 40 bits, so each is stored salted (random per code) and hashed.
    .addColumn('salt', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('mfa_backup_codes_user_id_idx').on('mfa_backup_codes').column('user_id').execute();

  await db.schema.alterTable('users').addColumn('mfa_default_method', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('mfa_default_method').execute();
  await db.schema.dropTable('mfa_backup_codes').execute();
  await db.schema.dropTable('mfa_totp').execute();
}
