/**
 * Table types for Kysely. Portable conventions (identical on SQLite and
 * PostgreSQL, see server/db/README.md): ids are text, instants are epoch
 * milliseconds in `bigint`, money is integer minor units in `bigint`,
 * booleans are `integer` 0/1. The PostgreSQL driver is told to return
 * `bigint` as a JS number (it refuses values beyond 2^53).
 */
import type { Generated } from 'kysely';
import type { SmsRateLimitsTable } from '../delivery/sms.ts';
import type { KnownDevicesTable, SignInAttemptsTable } from '../risk/store.ts';
import type { MeetingTables } from '../meetings/meetings.ts';
import type { PasskeyTables } from '../security/passkeys.ts';

export interface UsersTable {
  id: string;
  email: string;
  /** Lower-cased, trimmed email: the unique key for sign-in. */
  email_normalized: string;
  display_name: string;
  created_at: number;
  updated_at: number;
  /** argon2id PHC string; null for accounts without a password (passkey-only, later). */
  password_hash: string | null;
  email_verified_at: number | null;
  status: Generated<'active' | 'disabled'>;
  /** The second factor a sign-in offers first; null means the strongest the user has. */
  mfa_default_method: 'passkey' | 'totp' | 'sms' | 'email' | 'backup_code' | null;
  role: Generated<'member' | 'admin'>;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  access_token_hash: string;
  access_expires_at: number;
  created_at: number;
  last_seen_at: number;
  absolute_expires_at: number;
  mfa_verified_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  device_label: string;
  device_fingerprint: string | null;
  platform: string;
  app_version: string | null;
  ip: string;
  location: string | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  issued_at: number;
  used_at: number | null;
}

export interface EmailCodesTable {
  id: string;
  user_id: string;
  /** `sms_*`: codes texted to a phone (the table holds every one-time code, whatever carries it). */
  purpose: 'verify_email' | 'reset_password' | 'sign_in' | 'step_up' | 'sms_enroll' | 'sms_sign_in' | 'sms_step_up';
  code_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  attempts: Generated<number>;
}

/** Append-only (database triggers refuse UPDATE and DELETE). */
export interface SecurityEventsTable {
  id: Generated<number>;
  user_id: string | null;
  kind: string;
  at: number;
  ip: string | null;
  device_label: string | null;
  session_id: string | null;
  detail_json: Generated<string>;
}

export interface IdempotencyKeysTable {
  /** Who the key belongs to and what it protects, e.g. `user:<id>:payments.fund`. */
  scope: string;
  key: string;
  /** Hash of the request body: the same key with a different body is a conflict. */
  request_hash: string;
  /** JSON of the stored result; null while the first request is still running. */
  response_json: string | null;
  created_at: number;
}

/** Append-only record of what the server did to itself: start-ups, migrations, drains. */
export interface ServerEventsTable {
  id: Generated<number>;
  kind: string;
  detail_json: string;
  created_at: number;
}

export interface SignInChallengesTable {
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
  attempts: Generated<number>;
  ip: string;
  /** The SessionDevice the session will get. */
  device_json: string;
  /** The risk assessment (score, decision, reasons) that asked for the second factor. */
  assessment_json: string;
}

/** A user's authenticator app; confirmed_at null while the set-up waits for its first code. */
export interface MfaTotpTable {
  user_id: string;
  /** Base32 TOTP key (the app has the same one; needed in the clear to compute codes). */
  secret: string;
  created_at: number;
  confirmed_at: number | null;
  /** Time step of the last accepted code: only later steps are accepted (replay guard). */
  last_used_step: number | null;
}

/** A user's mobile number for SMS codes; confirmed_at null while the texted code is awaited. */
export interface MfaPhoneTable {
  user_id: string;
  /** E.164. */
  number: string;
  created_at: number;
  confirmed_at: number | null;
}

/** One-time backup codes; a new batch replaces the old one. */
export interface MfaBackupCodesTable {
  id: string;
  user_id: string;
  batch_id: string;
  salt: string;
  /** SHA-256 of `salt:code`. */
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

export interface Database extends PasskeyTables, MeetingTables {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  email_codes: EmailCodesTable;
  security_events: SecurityEventsTable;
  sms_rate_limits: SmsRateLimitsTable;
  known_devices: KnownDevicesTable;
  sign_in_attempts: SignInAttemptsTable;
  sign_in_challenges: SignInChallengesTable;
  mfa_totp: MfaTotpTable;
  mfa_backup_codes: MfaBackupCodesTable;
  mfa_phone: MfaPhoneTable;
  idempotency_keys: IdempotencyKeysTable;
  server_events: ServerEventsTable;
}
