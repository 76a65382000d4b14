/**
 * Table types for Kysely. Portable conventions (identical on SQLite and
 * PostgreSQL, see server/db/README.md): ids are text, instants are epoch
 * milliseconds in `bigint`, money is integer minor units in `bigint`,
 * booleans are `integer` 0/1. The PostgreSQL driver is told to return
 * `bigint` as a JS number (it refuses values beyond 2^53).
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  /** Lower-cased, trimmed email: the unique key for sign-in. */
  email_normalized: string;
  display_name: string;
  created_at: number;
  updated_at: number;
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

export interface Database {
  users: UsersTable;
  idempotency_keys: IdempotencyKeysTable;
  server_events: ServerEventsTable;
}
