/**
 * Numbered migrations, applied in order at start-up and by
 * `megilance-server migrate`. The same code runs on SQLite and PostgreSQL;
 * tests/db/schema-parity.test.ts proves both end with the same schema.
 * Never edit a released migration: add the next number.
 */
import type { Kysely } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_accounts.ts';
import * as m0003 from '../../delivery/migration.ts';
import * as m0004 from '../../risk/migration.ts';
import * as m0005 from './0005_sign_in_challenges.ts';
import * as m0006 from './0006_mfa.ts';
import * as m0007 from './0007_roles.ts';
import * as m0008 from './0008_passkeys.ts';
import * as m0009 from './0009_mfa_phone.ts';
import * as m0010 from '../../drafts/migration.ts';
import * as m0011 from '../../meetings/migration.ts';
import * as m0012 from '../../calls/recording-migration.ts';
import * as m0013 from '../../meetings/schedule-migration.ts';
import * as m0014 from '../../calls/guests-migration.ts';
import * as m0015 from '../../calls/chat-migration.ts';

export type DatabaseEngine = 'sqlite' | 'postgres';

export interface MigrationContext {
  engine: DatabaseEngine;
}

export interface NumberedMigration {
  up(db: Kysely<unknown>, context: MigrationContext): Promise<void>;
  down?(db: Kysely<unknown>, context: MigrationContext): Promise<void>;
}

export const migrations: Readonly<Record<string, NumberedMigration>> = {
  '0001_foundation': m0001,
  '0002_accounts': m0002,
  '0003_delivery': m0003,
  '0004_risk': m0004,
  '0005_sign_in_challenges': m0005,
  '0006_mfa': m0006,
  '0007_roles': m0007,
  '0008_passkeys': m0008,
  '0009_mfa_phone': m0009,
  '0010_drafts': m0010,
  '0011_meetings': m0011,
  '0012_recordings': m0012,
  '0013_schedule': m0013,
  '0014_call_guests': m0014,
  '0015_call_chat': m0015,
};
