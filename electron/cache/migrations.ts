/**
 * The cache file's numbered migrations, tracked in SQLite's `user_version`
 * (one integer in the file header: no bookkeeping table to get out of step).
 * Each runs in its own transaction together with the version bump, so a
 * crash mid-migration leaves the previous version intact. Never edit a
 * released migration: add the next number.
 *
 * A file whose version is ahead of this list was written by a newer app; it
 * is refused (NEWER_SCHEMA) rather than guessed at, and the caller decides
 * whether to destroy it (it is a cache; only unsent outbox writes are lost).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { CacheError } from './protocol.ts';

export interface CacheMigration {
  version: number;
  name: string;
  sql: string;
}

export const cacheMigrations: readonly CacheMigration[] = [
  {
    version: 1,
    name: 'records, collections, outbox',
    sql: `
      create table meta (
        key text primary key,
        value text not null
      ) without rowid;

      -- One row per cached thing, whatever its kind: the payload is the kind's JSON.
      create table records (
        kind text not null,
        id text not null,
        payload text not null,
        server_updated_at integer,
        fetched_at integer not null,
        primary key (kind, id)
      ) without rowid;

      create table collections (
        name text primary key,
        kind text not null,
        fetched_at integer,
        complete integer not null default 0
      ) without rowid;

      -- Membership and order of each list. "Newest N of a thread" and "first page
      -- of jobs" are one range scan of this index, joined to records by primary key.
      create table collection_items (
        collection text not null,
        id text not null,
        sort_key real not null,
        primary key (collection, id)
      ) without rowid;
      create index collection_items_order on collection_items (collection, sort_key desc, id desc);
      create index collection_items_record on collection_items (id);

      -- Writes made offline, replayed in seq order.
      create table outbox (
        seq integer primary key autoincrement,
        id text not null unique,
        idempotency_key text not null unique,
        procedure text not null,
        input text not null,
        entity_kind text,
        entity_id text,
        base_version integer,
        status text not null check (status in ('pending', 'conflict', 'failed')),
        attempts integer not null default 0,
        last_error text,
        next_attempt_at integer,
        problem text,
        created_at integer not null,
        updated_at integer not null
      );
      create index outbox_entity on outbox (entity_kind, entity_id, seq);
    `,
  },
];

export const latestCacheVersion = cacheMigrations.at(-1)?.version ?? 0;

/** Brings the file to the latest version; returns the versions applied. */
export function migrateCache(db: BetterSqlite3.Database): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latestCacheVersion) {
    throw new CacheError(
      'NEWER_SCHEMA',
      `The cache file is at schema version ${current}, newer than this app's ${latestCacheVersion}.`,
    );
  }
  const applied: number[] = [];
  for (const migration of cacheMigrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}
