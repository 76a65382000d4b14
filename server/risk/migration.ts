import type { Kysely } from 'kysely';
import type { MigrationContext } from '../db/migrations/index.ts';

/**
 * Risk-based authentication: the devices each account has signed in from,
 * and every sign-in attempt (the history the risk engine reads: failures
 * per account and per IP, the last successful sign-in's place).
 *
 * Coordinates are integer micro-degrees (`latitude_e6`), keeping to the
 * portable column types (server/db/README.md); the geo data has four
 * decimals, so nothing is lost.
 */
export async function up(db: Kysely<unknown>, { engine }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('known_devices')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_ip', 'text', (c) => c.notNull())
    .addColumn('last_country', 'text')
    .addPrimaryKeyConstraint('known_devices_pkey', ['user_id', 'fingerprint'])
    .execute();

  await db.schema
    .createTable('sign_in_attempts')
    .addColumn('id', engine === 'postgres' ? 'bigserial' : 'integer', (c) =>
      engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    // Null when the email matched no account: those attempts still count per IP and per email.
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('email_normalized', 'text', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('succeeded', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('country', 'text')
    .addColumn('region', 'text')
    .addColumn('city', 'text')
    .addColumn('latitude_e6', 'integer')
    .addColumn('longitude_e6', 'integer')
    .addColumn('accuracy_km', 'integer')
    .addColumn('device_fingerprint', 'text')
    .addColumn('device_label', 'text')
    .addColumn('risk_score', 'integer')
    .addColumn('decision', 'text')
    // Comma-separated reason codes, e.g. `NEW_DEVICE,NEW_COUNTRY`; '' when none fired or not assessed.
    .addColumn('reason_codes', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .createIndex('sign_in_attempts_user_at_idx')
    .on('sign_in_attempts')
    .columns(['user_id', 'at'])
    .execute();
  await db.schema
    .createIndex('sign_in_attempts_email_at_idx')
    .on('sign_in_attempts')
    .columns(['email_normalized', 'at'])
    .execute();
  await db.schema.createIndex('sign_in_attempts_ip_at_idx').on('sign_in_attempts').columns(['ip', 'at']).execute();
  await db.schema.createIndex('sign_in_attempts_at_idx').on('sign_in_attempts').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sign_in_attempts').execute();
  await db.schema.dropTable('known_devices').execute();
}
