import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * WebAuthn / FIDO2: passkeys (discoverable, for passwordless sign-in) and
 * security keys (a second factor), several per user. Binary values (credential
 * ids, public keys, user handles, challenges) are base64url text, so the
 * schema stays the same on SQLite and PostgreSQL. Table types: `PasskeyTables`
 * in server/security/passkeys.ts.
 */
export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  // The WebAuthn user handle: random, stable, and not the user id, so an authenticator learns nothing about the account.
  await db.schema
    .createTable('webauthn_user_handles')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('handle', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webauthn_user_handles_handle_key')
    .unique()
    .on('webauthn_user_handles')
    .column('handle')
    .execute();

  await db.schema
    .createTable('webauthn_credentials')
    // The credential id as the authenticator reports it: unique across the relying party.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    // COSE public key.
    .addColumn('public_key', 'text', (c) => c.notNull())
    // The signature counter last accepted: a later assertion must report more (clone detection).
    .addColumn('counter', 'bigint', (c) => c.notNull())
    // JSON array of transports ('internal', 'usb', 'hybrid', …), offered back to the browser.
    .addColumn('transports', 'text', (c) => c.notNull())
    // 'singleDevice' | 'multiDevice' (synced passkey).
    .addColumn('device_type', 'text', (c) => c.notNull())
    .addColumn('backed_up', 'integer', (c) => c.notNull())
    // 1: a resident credential, usable for passwordless sign-in; 0: a second factor only.
    .addColumn('discoverable', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('webauthn_credentials_user_id_idx')
    .on('webauthn_credentials')
    .column('user_id')
    .execute();

  // One row per ceremony: single-use (used_at) and short-lived (expires_at).
  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Null for a passwordless sign-in, where nobody is known until the assertion names its credential.
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    // 'register_passkey' | 'register_security_key' | 'passwordless' | 'second_factor' | 'step_up'.
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('challenge', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('webauthn_challenges_expires_at_idx')
    .on('webauthn_challenges')
    .column('expires_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webauthn_challenges').execute();
  await db.schema.dropTable('webauthn_credentials').execute();
  await db.schema.dropTable('webauthn_user_handles').execute();
}
