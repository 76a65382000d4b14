import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Accounts: password credentials, sessions with rotating refresh tokens,
 * one-time email codes, and the append-only security event log.
 */
export async function up(db: Kysely<unknown>, { engine }: MigrationContext): Promise<void> {
  await db.schema.alterTable('users').addColumn('password_hash', 'text').execute();
  await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute();
  await db.schema
    .alterTable('users')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('access_token_hash', 'text', (c) => c.notNull())
    .addColumn('access_expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
    .addColumn('mfa_verified_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_reason', 'text')
    .addColumn('device_label', 'text', (c) => c.notNull())
    .addColumn('device_fingerprint', 'text')
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('app_version', 'text')
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('location', 'text')
    .execute();
  await db.schema
    .createIndex('sessions_access_token_hash_key')
    .unique()
    .on('sessions')
    .column('access_token_hash')
    .execute();
  await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();

  // One row per refresh token ever issued: a used token presented again is theft.
  await db.schema
    .createTable('refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('refresh_tokens_session_id_idx').on('refresh_tokens').column('session_id').execute();

  await db.schema
    .createTable('email_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('email_codes_user_purpose_idx')
    .on('email_codes')
    .columns(['user_id', 'purpose'])
    .execute();

  await db.schema
    .createTable('security_events')
    .addColumn('id', engine === 'postgres' ? 'bigserial' : 'integer', (c) =>
      engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('user_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('device_label', 'text')
    .addColumn('session_id', 'text')
    .addColumn('detail_json', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
  await db.schema.createIndex('security_events_user_at_idx').on('security_events').columns(['user_id', 'at']).execute();

  // Append-only, enforced by the database itself, not just by the code.
  if (engine === 'sqlite') {
    for (const op of ['update', 'delete']) {
      await sql
        .raw(
          `create trigger security_events_no_${op} before ${op} on security_events
           begin select raise(abort, 'security_events is append-only'); end`,
        )
        .execute(db);
    }
  } else {
    await sql`create function security_events_append_only() returns trigger language plpgsql as $$
      begin raise exception 'security_events is append-only'; end $$`.execute(db);
    await sql`create trigger security_events_no_change before update or delete on security_events
      for each row execute function security_events_append_only()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>, { engine }: MigrationContext): Promise<void> {
  await db.schema.dropTable('security_events').execute();
  if (engine === 'postgres') await sql`drop function if exists security_events_append_only()`.execute(db);
  await db.schema.dropTable('email_codes').execute();
  await db.schema.dropTable('refresh_tokens').execute();
  await db.schema.dropTable('sessions').execute();
  await db.schema.alterTable('users').dropColumn('status').execute();
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
  await db.schema.alterTable('users').dropColumn('password_hash').execute();
}
