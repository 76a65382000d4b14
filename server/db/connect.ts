/**
 * Opens the one typed query layer (Kysely) on the configured engine:
 * SQLite through better-sqlite3 (the embedded default, WAL) or PostgreSQL
 * through `pg`. Everything above this file is engine-agnostic.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseTarget } from '../config.ts';
import type { DatabaseEngine } from './migrations/index.ts';
import type { Database } from './schema.ts';

export interface DatabaseHandle {
  db: Kysely<Database>;
  engine: DatabaseEngine;
  /** Where it lives, with any password removed: safe to log and show. */
  location: string;
  close(): Promise<void>;
}

const PG_INT8_OID = 20;

function parseInt8(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) {
    throw new RangeError(`bigint value ${value} is beyond 2^53 and cannot be read as a number`);
  }
  return parsed;
}

/** pg's own parsers, except int8 (bigint), which becomes a number instead of a string. */
const pgTypes = new pg.TypeOverrides();
pgTypes.setTypeParser(PG_INT8_OID, parseInt8);

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function queryLogger(logger: Logger, slowQueryMs: number) {
  return (event: LogEvent): void => {
    if (event.level === 'error') {
      logger.error({ err: event.error, sql: event.query.sql, ms: event.queryDurationMillis }, 'query failed');
    } else if (event.queryDurationMillis >= slowQueryMs) {
      logger.warn({ sql: event.query.sql, ms: Math.round(event.queryDurationMillis) }, 'slow query');
    }
  };
}

export function openDatabase(target: DatabaseTarget, logger: Logger, slowQueryMs: number): DatabaseHandle {
  const log = queryLogger(logger.child({ component: 'db' }), slowQueryMs);
  if (target.engine === 'sqlite') {
    if (target.file !== ':memory:') mkdirSync(dirname(target.file), { recursive: true });
    const sqlite = new BetterSqlite3(target.file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }), log });
    return { db, engine: 'sqlite', location: target.file, close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: target.url,
    max: 10,
    types: pgTypes,
  });
  pool.on('error', (err) => logger.error({ err }, 'idle PostgreSQL connection failed'));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
  return { db, engine: 'postgres', location: redactUrl(target.url), close: () => db.destroy() };
}
