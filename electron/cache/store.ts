/**
 * The cache database itself: better-sqlite3, synchronous, and therefore run
 * only inside the cache worker (worker.ts), never on Electron's main thread.
 * One file per server and account: records of every kind, ordered
 * collections, the outbox, and a little metadata.
 *
 * - WAL with `synchronous = NORMAL`: readers never wait for the writer, and
 *   a commit survives an app crash. The outbox's own writes switch to FULL
 *   for their transaction, so a queued write survives power loss too.
 * - Slow-query log: every statement and every request is timed; anything at
 *   or over the threshold is reported with its SQL (placeholders, never
 *   values) and milliseconds, never row data.
 * - Invariants live here, whoever the caller: payloads are checked against
 *   their kind's schema (outbox inputs are checked in main, against the
 *   procedure's shared schema, before they get here).
 */
import BetterSqlite3 from 'better-sqlite3';
import * as z from 'zod/mini';
import { $ZodError } from 'zod/v4/core';
import { migrateCache } from './migrations.ts';
import {
  CacheError,
  type CachedRecord,
  type CacheOp,
  type CacheParsedInput,
  type CacheResults,
  type CollectionItem,
  type CollectionPage,
  type OutboxItem,
  type OutboxStatus,
  type ProblemDetails,
} from './protocol.ts';
import { cacheKindNames, cacheKinds, type CacheKind } from './kinds.ts';
import type { OutboxProcedure } from './outbox-writes.ts';

export interface SlowQuery {
  op: CacheOp | 'open';
  sql: string;
  ms: number;
}

export interface CacheStoreOptions {
  file: string;
  slowQueryMs: number;
  identity: { serverOrigin: string; accountId: string };
  onSlowQuery: (event: SlowQuery) => void;
  now?: () => number;
}

type CacheHandlers = { [O in CacheOp]: (input: CacheParsedInput<O>) => CacheResults[O] };

interface RecordRow {
  kind: string;
  id: string;
  payload: string;
  server_updated_at: number | null;
  fetched_at: number;
  local: 0 | 1;
}
interface PageRow extends RecordRow {
  sort_key: number;
}
interface CollectionRow {
  kind: string;
  fetched_at: number | null;
  complete: 0 | 1;
}
interface OutboxRow {
  seq: number;
  id: string;
  idempotency_key: string;
  procedure: string;
  input: string;
  entity_kind: string | null;
  entity_id: string | null;
  base_version: number | null;
  status: OutboxStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number | null;
  problem: string | null;
  created_at: number;
  updated_at: number;
}

/** Columns of a record row, plus whether unsent outbox writes touch it. */
const RECORD_COLUMNS = `r.kind, r.id, r.payload, r.server_updated_at, r.fetched_at,
  exists (select 1 from outbox o where o.entity_kind = r.kind and o.entity_id = r.id) as local`;

function prepareStatements(db: BetterSqlite3.Database) {
  return {
    getRecord: db.prepare<[string, string], RecordRow>(
      `select ${RECORD_COLUMNS} from records r where r.kind = ? and r.id = ?`,
    ),
    upsertRecord: db.prepare<[string, string, string, number | null, number]>(
      `insert into records (kind, id, payload, server_updated_at, fetched_at) values (?, ?, ?, ?, ?)
       on conflict (kind, id) do update set payload = excluded.payload,
         server_updated_at = excluded.server_updated_at, fetched_at = excluded.fetched_at`,
    ),
    deleteRecord: db.prepare<[string, string]>('delete from records where kind = ? and id = ?'),
    deleteMemberships: db.prepare<[string, string]>(
      'delete from collection_items where id = ? and collection in (select name from collections where kind = ?)',
    ),
    hasLocal: db.prepare<[string, string], { one: 1 }>(
      'select 1 as one from outbox where entity_kind = ? and entity_id = ? limit 1',
    ),
    outboxCount: db.prepare<[], { n: number }>('select count(*) as n from outbox'),
    collection: db.prepare<[string], CollectionRow>(
      'select kind, fetched_at, complete from collections where name = ?',
    ),
    ensureCollection: db.prepare<[string, string]>(
      'insert into collections (name, kind, fetched_at, complete) values (?, ?, null, 0) on conflict (name) do nothing',
    ),
    markCollection: db.prepare<[string, string, number, 0 | 1]>(
      `insert into collections (name, kind, fetched_at, complete) values (?, ?, ?, ?)
       on conflict (name) do update set fetched_at = excluded.fetched_at, complete = excluded.complete`,
    ),
    page: db.prepare<[string, string, number], PageRow>(
      `select ci.sort_key, ${RECORD_COLUMNS} from collection_items ci
       join records r on r.kind = ? and r.id = ci.id
       where ci.collection = ? order by ci.sort_key desc, ci.id desc limit ?`,
    ),
    pageBefore: db.prepare<[string, string, number, string, number], PageRow>(
      `select ci.sort_key, ${RECORD_COLUMNS} from collection_items ci
       join records r on r.kind = ? and r.id = ci.id
       where ci.collection = ? and (ci.sort_key, ci.id) < (?, ?)
       order by ci.sort_key desc, ci.id desc limit ?`,
    ),
    memberIds: db.prepare<[string], { id: string; sort_key: number }>(
      'select id, sort_key from collection_items where collection = ?',
    ),
    upsertMember: db.prepare<[string, string, number]>(
      `insert into collection_items (collection, id, sort_key) values (?, ?, ?)
       on conflict (collection, id) do update set sort_key = excluded.sort_key`,
    ),
    addMemberIfAbsent: db.prepare<[string, string, number]>(
      'insert into collection_items (collection, id, sort_key) values (?, ?, ?) on conflict (collection, id) do nothing',
    ),
    deleteMember: db.prepare<[string, string]>('delete from collection_items where collection = ? and id = ?'),
    metaGet: db.prepare<[string], { value: string }>('select value from meta where key = ?'),
    metaSet: db.prepare<[string, string]>(
      'insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value',
    ),
    outboxInsert: db.prepare<
      [string, string, string, string, string | null, string | null, number | null, number, number]
    >(
      `insert into outbox (id, idempotency_key, procedure, input, entity_kind, entity_id, base_version,
         status, attempts, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    ),
    outboxAll: db.prepare<[], OutboxRow>('select * from outbox order by seq'),
    outboxGet: db.prepare<[string], OutboxRow>('select * from outbox where id = ?'),
    outboxDelete: db.prepare<[string]>('delete from outbox where id = ?'),
    outboxRebase: db.prepare<[number, number, string, string, number]>(
      `update outbox set base_version = ?, updated_at = ?
       where entity_kind = ? and entity_id = ? and seq > ? and status = 'pending' and base_version is not null`,
    ),
    outboxFollowers: db.prepare<[string, string, number], { id: string }>(
      'select id from outbox where entity_kind = ? and entity_id = ? and seq > ? order by seq',
    ),
    outboxAttemptFailed: db.prepare<[string, number | null, number, string]>(
      'update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? where id = ?',
    ),
    outboxProblem: db.prepare<[string, string, number, string]>(
      `update outbox set status = ?, problem = ?, next_attempt_at = null, updated_at = ?
       where id = ? and status = 'pending'`,
    ),
    outboxResend: db.prepare<[string, number | null, number, string]>(
      `update outbox set status = 'pending', idempotency_key = ?, base_version = ?, problem = null, attempts = 0,
         last_error = null, next_attempt_at = null, updated_at = ?
       where id = ?`,
    ),
    countsByKind: db.prepare<[], { kind: string; n: number }>('select kind, count(*) as n from records group by kind'),
    collectionCount: db.prepare<[], { n: number }>('select count(*) as n from collections'),
    outboxByStatus: db.prepare<[], { status: OutboxStatus; n: number }>(
      'select status, count(*) as n from outbox group by status',
    ),
    recordCount: db.prepare<[], { n: number }>('select count(*) as n from records'),
    clearRecordsKeepingLocal: db.prepare(
      `delete from records where not exists (
         select 1 from outbox o where o.entity_kind = records.kind and o.entity_id = records.id)`,
    ),
    clearAllRecords: db.prepare('delete from records'),
    clearCollections: db.prepare('delete from collections'),
    clearMembers: db.prepare('delete from collection_items'),
    clearOutbox: db.prepare('delete from outbox'),
    dropKindRecords: db.prepare<[string]>('delete from records where kind = ?'),
    dropKindMembers: db.prepare<[string]>(
      'delete from collection_items where collection in (select name from collections where kind = ?)',
    ),
    dropKindCollections: db.prepare<[string]>('delete from collections where kind = ?'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** SQLite's own errors keep their code (SQLITE_FULL, SQLITE_CORRUPT…); anything else is ours. */
export function toCacheError(error: unknown, fallback: 'INTERNAL' | 'OPEN_FAILED' = 'INTERNAL'): CacheError {
  if (error instanceof CacheError) return error;
  if (error instanceof $ZodError) return new CacheError('INVALID_REQUEST', z.prettifyError(error));
  if (error instanceof BetterSqlite3.SqliteError) {
    return new CacheError(fallback === 'OPEN_FAILED' ? 'OPEN_FAILED' : 'SQLITE_ERROR', error.message, {
      sqliteCode: error.code,
    });
  }
  return new CacheError(fallback, error instanceof Error ? error.message : String(error));
}

function invalid(message: string): CacheError {
  return new CacheError('INVALID_REQUEST', message);
}

export class CacheStore {
  readonly file: string;
  readonly schemaVersion: number;
  readonly migrated: number[];
  readonly droppedKinds: CacheKind[];
  private readonly db: BetterSqlite3.Database;
  private readonly s: Statements;
  private readonly slowQueryMs: number;
  private readonly onSlowQuery: (event: SlowQuery) => void;
  private readonly now: () => number;
  private op: CacheOp | 'open' = 'open';

  /** Opens (creating if needed), migrates and checks the file. Throws CacheError. */
  static open(options: CacheStoreOptions): CacheStore {
    let db: BetterSqlite3.Database | undefined;
    try {
      db = new BetterSqlite3(options.file);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new CacheError('OPEN_FAILED', `SQLite refused WAL mode (got ${String(mode)}).`);
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      const started = performance.now();
      const migrated = migrateCache(db);
      const ms = performance.now() - started;
      if (migrated.length > 0 && ms >= options.slowQueryMs) {
        options.onSlowQuery({ op: 'open', sql: `migrations ${migrated.join(', ')}`, ms });
      }
      return new CacheStore(db, options, migrated);
    } catch (error) {
      db?.close();
      throw toCacheError(error, 'OPEN_FAILED');
    }
  }

  private constructor(db: BetterSqlite3.Database, options: CacheStoreOptions, migrated: number[]) {
    this.db = db;
    this.file = options.file;
    this.slowQueryMs = options.slowQueryMs;
    this.onSlowQuery = options.onSlowQuery;
    this.now = options.now ?? Date.now;
    this.migrated = migrated;
    this.schemaVersion = db.pragma('user_version', { simple: true }) as number;
    this.s = prepareStatements(db);
    this.checkIdentity(options.identity);
    this.droppedKinds = this.dropOutdatedKinds();
  }

  /** Runs one request. Throws CacheError. */
  execute<O extends CacheOp>(op: O, input: CacheParsedInput<O>): CacheResults[O] {
    this.op = op;
    const started = performance.now();
    try {
      const handler = this.handlers[op] as (input: CacheParsedInput<O>) => CacheResults[O];
      return handler(input);
    } catch (error) {
      throw toCacheError(error);
    } finally {
      const ms = performance.now() - started;
      if (ms >= this.slowQueryMs) this.onSlowQuery({ op, sql: `request ${op}`, ms });
    }
  }

  /** Closes the database; SQLite checkpoints the WAL and removes the -wal and -shm files. */
  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('optimize');
    } finally {
      this.db.close();
    }
  }

  private readonly handlers: CacheHandlers = {
    getRecord: ({ ref }) => {
      const row = this.get(this.s.getRecord, ref.kind, ref.id);
      return row === undefined ? null : toRecord(row);
    },
    putRecords: ({ records, keepLocalChanges }) => {
      const checked = records.map((r) => ({ ...r, payload: checkPayload(r.kind, r.payload) }));
      return this.db.transaction(() => {
        const guard = this.localChangeGuard(keepLocalChanges);
        let written = 0;
        let keptLocal = 0;
        const now = this.now();
        for (const record of checked) {
          if (guard(record.kind, record.id)) {
            keptLocal++;
            continue;
          }
          this.run(this.s.upsertRecord, record.kind, record.id, record.payload, record.serverUpdatedAt, now);
          written++;
        }
        return { written, keptLocal };
      })();
    },
    deleteRecords: ({ refs }) =>
      this.db.transaction(() => {
        let deleted = 0;
        for (const ref of refs) deleted += this.deleteRecord(ref);
        return { deleted };
      })(),
    readCollection: ({ collection, limit, before }) => this.readPage(collection, limit, before),
    writeCollection: ({ collection, items, range, complete, keepLocalChanges, readBack }) => {
      const checked = items.map((item) => ({ ...item, payload: checkPayload(collection.kind, item.payload) }));
      const result = this.db.transaction(() => {
        this.collectionRow(collection);
        const guard = this.localChangeGuard(keepLocalChanges);
        const incoming = new Set(checked.map((item) => item.id));
        let removed = 0;
        let keptLocal = 0;
        let written = 0;
        // Which cached members this answer speaks for: those it does not list have left the list.
        const everything = range === 'all' || (range === 'newest' && checked.length === 0);
        const lowest = checked.reduce((min, item) => Math.min(min, item.sortKey), Infinity);
        if (range !== 'older') {
          for (const member of this.all(this.s.memberIds, collection.name)) {
            if (incoming.has(member.id) || (!everything && member.sort_key < lowest)) continue;
            if (guard(collection.kind, member.id)) {
              keptLocal++;
              continue;
            }
            this.run(this.s.deleteMember, collection.name, member.id);
            removed++;
          }
        }
        const now = this.now();
        for (const item of checked) {
          if (guard(collection.kind, item.id)) {
            // The local copy stays; it only joins the list if it is not in it yet.
            this.run(this.s.addMemberIfAbsent, collection.name, item.id, item.sortKey);
            keptLocal++;
            continue;
          }
          this.run(this.s.upsertRecord, collection.kind, item.id, item.payload, item.serverUpdatedAt, now);
          this.run(this.s.upsertMember, collection.name, item.id, item.sortKey);
          written++;
        }
        const previous = this.get(this.s.collection, collection.name);
        const isComplete = range === 'all' || (complete ?? previous?.complete === 1);
        this.run(this.s.markCollection, collection.name, collection.kind, now, isComplete ? 1 : 0);
        return { written, removed, keptLocal };
      })();
      return { ...result, page: readBack > 0 ? this.readPage(collection, readBack, undefined) : null };
    },
    clear: ({ includeOutbox }) => {
      const result = this.db.transaction(() => {
        const before = this.get(this.s.recordCount)?.n ?? 0;
        if (includeOutbox) this.run(this.s.clearOutbox);
        this.run(this.s.clearMembers);
        this.run(this.s.clearCollections);
        // Records with unsent writes stay with their writes: they are the user's work, not a copy.
        this.run(includeOutbox ? this.s.clearAllRecords : this.s.clearRecordsKeepingLocal);
        const after = this.get(this.s.recordCount)?.n ?? 0;
        return { records: before - after, outboxKept: this.get(this.s.outboxCount)?.n ?? 0 };
      })();
      // Cleared means gone from the disk too, not only unreachable: rewrite the file without the freed
      // pages (in WAL mode VACUUM writes to the log), then fold the log into the file and truncate both.
      this.db.exec('vacuum');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      return result;
    },
    stats: () => {
      const records: Partial<Record<CacheKind, number>> = {};
      for (const row of this.all(this.s.countsByKind)) records[row.kind as CacheKind] = row.n;
      const outbox: Record<OutboxStatus, number> = { pending: 0, conflict: 0, failed: 0 };
      for (const row of this.all(this.s.outboxByStatus)) outbox[row.status] = row.n;
      const pages = this.db.pragma('page_count', { simple: true }) as number;
      const pageSize = this.db.pragma('page_size', { simple: true }) as number;
      return {
        file: this.file,
        schemaVersion: this.schemaVersion,
        bytes: pages * pageSize,
        records,
        collections: this.get(this.s.collectionCount)?.n ?? 0,
        outbox,
      };
    },
    outboxEnqueue: ({ id, idempotencyKey, procedure, input, entity, baseVersion, localChange }) => {
      const change =
        localChange?.type === 'put'
          ? {
              ...localChange,
              record: {
                ...localChange.record,
                payload: checkPayload(localChange.record.kind, localChange.record.payload),
              },
            }
          : localChange;
      // FULL for this one transaction: a queued write is the user's work and must survive power loss.
      this.db.pragma('synchronous = FULL');
      try {
        this.db.transaction(() => {
          const now = this.now();
          this.run(
            this.s.outboxInsert,
            id,
            idempotencyKey,
            procedure,
            JSON.stringify(input),
            entity?.kind ?? null,
            entity?.id ?? null,
            baseVersion,
            now,
            now,
          );
          if (change?.type === 'put') {
            const { record } = change;
            this.run(this.s.upsertRecord, record.kind, record.id, record.payload, record.serverUpdatedAt, now);
            for (const { collection, sortKey } of change.addTo) {
              this.collectionRow(collection);
              this.run(this.s.ensureCollection, collection.name, collection.kind);
              this.run(this.s.upsertMember, collection.name, record.id, sortKey);
            }
          } else if (change?.type === 'remove') {
            this.deleteRecord(change.ref);
          }
        })();
      } finally {
        this.db.pragma('synchronous = NORMAL');
      }
      return this.outboxItem(id);
    },
    outboxList: () => this.all(this.s.outboxAll).map(toOutboxItem),
    outboxApplied: ({ id, resultVersion, serverRecord }) => {
      const record = serverRecord && {
        ...serverRecord,
        payload: checkPayload(serverRecord.kind, serverRecord.payload),
      };
      return this.db.transaction(() => {
        const item = this.outboxItem(id);
        this.run(this.s.outboxDelete, id);
        let rebased = 0;
        if (item.entity !== null && resultVersion !== null) {
          const now = this.now();
          rebased = this.run(
            this.s.outboxRebase,
            resultVersion,
            now,
            item.entity.kind,
            item.entity.id,
            item.seq,
          ).changes;
        }
        // The server's copy replaces the optimistic one, unless more local writes on it are still queued.
        if (record !== undefined && this.get(this.s.hasLocal, record.kind, record.id) === undefined) {
          this.run(this.s.upsertRecord, record.kind, record.id, record.payload, record.serverUpdatedAt, this.now());
        }
        return { rebased };
      })();
    },
    outboxAttemptFailed: ({ id, error, nextAttemptAt }) => {
      this.outboxItem(id);
      this.run(this.s.outboxAttemptFailed, error, nextAttemptAt, this.now(), id);
      return this.outboxItem(id);
    },
    outboxProblem: ({ id, status, message, details }) => {
      const item = this.outboxItem(id);
      if (item.status !== 'pending') throw new CacheError('WRONG_STATE', `Outbox item ${id} is ${item.status}.`);
      this.run(this.s.outboxProblem, status, JSON.stringify({ message, details }), this.now(), id);
      return this.outboxItem(id);
    },
    outboxResend: ({ id, idempotencyKey, baseVersion }) => {
      const item = this.outboxItem(id);
      if (item.status === 'pending')
        throw new CacheError('WRONG_STATE', `Outbox item ${id} is already waiting to send.`);
      this.run(this.s.outboxResend, idempotencyKey, baseVersion ?? item.baseVersion, this.now(), id);
      return this.outboxItem(id);
    },
    outboxDrop: ({ id, withFollowers }) =>
      this.db.transaction(() => {
        const item = this.outboxItem(id);
        const dropped = [id];
        if (withFollowers && item.entity !== null) {
          for (const row of this.all(this.s.outboxFollowers, item.entity.kind, item.entity.id, item.seq)) {
            dropped.push(row.id);
          }
        }
        for (const droppedId of dropped) this.run(this.s.outboxDelete, droppedId);
        return { dropped };
      })(),
  };

  private readPage(
    collection: { name: string; kind: CacheKind },
    limit: number,
    before: { sortKey: number; id: string } | undefined,
  ): CollectionPage {
    const meta = this.collectionRow(collection);
    // One row more than asked says whether there is a next page.
    const rows =
      before === undefined
        ? this.all(this.s.page, collection.kind, collection.name, limit + 1)
        : this.all(this.s.pageBefore, collection.kind, collection.name, before.sortKey, before.id, limit + 1);
    const items: CollectionItem[] = rows.slice(0, limit).map((row) => ({ ...toRecord(row), sortKey: row.sort_key }));
    const last = items.at(-1);
    return {
      collection: collection.name,
      kind: collection.kind,
      fetchedAt: meta?.fetched_at ?? null,
      complete: meta?.complete === 1,
      items,
      nextCursor: rows.length > limit && last !== undefined ? { sortKey: last.sortKey, id: last.id } : null,
    };
  }

  /** The collection's row; a name used for another kind is refused. */
  private collectionRow(collection: { name: string; kind: CacheKind }): CollectionRow | undefined {
    const row = this.get(this.s.collection, collection.name);
    if (row !== undefined && row.kind !== collection.kind) {
      throw invalid(`Collection ${collection.name} holds ${row.kind} records, not ${collection.kind}.`);
    }
    return row;
  }

  private deleteRecord(ref: { kind: CacheKind; id: string }): number {
    this.run(this.s.deleteMemberships, ref.id, ref.kind);
    return this.run(this.s.deleteRecord, ref.kind, ref.id).changes;
  }

  /** Whether a server copy must not replace the local one (unsent writes touch it). Free when the outbox is empty. */
  private localChangeGuard(keepLocalChanges: boolean): (kind: string, id: string) => boolean {
    if (!keepLocalChanges || (this.get(this.s.outboxCount)?.n ?? 0) === 0) return () => false;
    return (kind, id) => this.get(this.s.hasLocal, kind, id) !== undefined;
  }

  private outboxItem(id: string): OutboxItem {
    const row = this.get(this.s.outboxGet, id);
    if (row === undefined) throw new CacheError('NOT_FOUND', `No outbox item ${id}.`);
    return toOutboxItem(row);
  }

  private checkIdentity(identity: { serverOrigin: string; accountId: string }): void {
    const origin = this.get(this.s.metaGet, 'server_origin')?.value;
    const account = this.get(this.s.metaGet, 'account_id')?.value;
    if (origin === undefined && account === undefined) {
      this.db.transaction(() => {
        this.run(this.s.metaSet, 'server_origin', identity.serverOrigin);
        this.run(this.s.metaSet, 'account_id', identity.accountId);
      })();
      return;
    }
    if (origin !== identity.serverOrigin || account !== identity.accountId) {
      throw new CacheError('IDENTITY_MISMATCH', 'This cache file belongs to another server or account.');
    }
  }

  /** Kinds whose payload version changed since the file was written lose their records (and lists). */
  private dropOutdatedKinds(): CacheKind[] {
    const dropped: CacheKind[] = [];
    this.db.transaction(() => {
      for (const kind of cacheKindNames) {
        const key = `kind_version:${kind}`;
        const stored = this.get(this.s.metaGet, key)?.value;
        const version = String(cacheKinds[kind].version);
        if (stored === version) continue;
        if (stored !== undefined) {
          this.run(this.s.dropKindMembers, kind);
          this.run(this.s.dropKindCollections, kind);
          this.run(this.s.dropKindRecords, kind);
          dropped.push(kind);
        }
        this.run(this.s.metaSet, key, version);
      }
    })();
    return dropped;
  }

  private timed<T>(sql: string, run: () => T): T {
    const started = performance.now();
    const result = run();
    const ms = performance.now() - started;
    if (ms >= this.slowQueryMs) this.onSlowQuery({ op: this.op, sql: sql.replace(/\s+/g, ' ').trim(), ms });
    return result;
  }

  private get<P extends unknown[], R>(statement: BetterSqlite3.Statement<P, R>, ...params: P): R | undefined {
    return this.timed(statement.source, () => statement.get(...params));
  }

  private all<P extends unknown[], R>(statement: BetterSqlite3.Statement<P, R>, ...params: P): R[] {
    return this.timed(statement.source, () => statement.all(...params));
  }

  private run<P extends unknown[], R>(statement: BetterSqlite3.Statement<P, R>, ...params: P): BetterSqlite3.RunResult {
    return this.timed(statement.source, () => statement.run(...params));
  }
}

/** Checks a payload against its kind and returns the JSON to store (unknown fields dropped). */
function checkPayload(kind: CacheKind, payload: Record<string, unknown>): string {
  const parsed = z.safeParse(cacheKinds[kind].payload, payload);
  if (!parsed.success) throw invalid(`A ${kind} payload does not match its schema: ${z.prettifyError(parsed.error)}`);
  return JSON.stringify(parsed.data);
}

function toRecord(row: RecordRow): CachedRecord {
  return {
    kind: row.kind as CacheKind,
    id: row.id,
    payload: JSON.parse(row.payload) as CachedRecord['payload'],
    serverUpdatedAt: row.server_updated_at,
    fetchedAt: row.fetched_at,
    hasLocalChanges: row.local === 1,
  };
}

function toOutboxItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    seq: row.seq,
    procedure: row.procedure as OutboxProcedure,
    input: JSON.parse(row.input) as Record<string, unknown>,
    idempotencyKey: row.idempotency_key,
    entity:
      row.entity_kind === null || row.entity_id === null
        ? null
        : { kind: row.entity_kind as CacheKind, id: row.entity_id },
    baseVersion: row.base_version,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    problem: row.problem === null ? null : (JSON.parse(row.problem) as { message: string; details: ProblemDetails }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
