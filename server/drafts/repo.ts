/**
 * Drafts queries. Every one filters by the owner's user id: no function here
 * can read or change another user's draft, whatever id it is given.
 */
import type { Kysely } from 'kysely';
import type { Draft, DraftKind } from '../../shared/drafts.ts';
import type { Database } from '../db/schema.ts';

export interface DraftsTable {
  user_id: string;
  /** Chosen by the client (a UUID); unique per user only. */
  id: string;
  kind: DraftKind;
  subject_ref: string | null;
  title: string;
  body: string;
  version: number;
  created_at: number;
  updated_at: number;
  /** Set when removed: the row stays (without its text) so its version keeps counting. */
  removed_at: number | null;
}

/** The tables migration 0010_drafts creates; a type alias so it fits `$extendTables`. */
export type DraftTables = { drafts: DraftsTable };

/** The main schema, or a transaction of it (services pass their idempotent write's transaction). */
export type DraftsDb = Kysely<Database>;

const tables = (db: DraftsDb) => db.$extendTables<DraftTables>();

export function toDraft(row: DraftsTable): Draft {
  return {
    id: row.id,
    kind: row.kind,
    subjectRef: row.subject_ref,
    title: row.title,
    body: row.body,
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The row, removed or not; undefined when the user never had a draft with this id. */
export function findDraftRow(db: DraftsDb, userId: string, id: string): Promise<DraftsTable | undefined> {
  return tables(db)
    .selectFrom('drafts')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Inserts a new draft; false when a row with this id appeared meanwhile (a concurrent create). */
export async function insertDraft(db: DraftsDb, row: DraftsTable): Promise<boolean> {
  const result = await tables(db)
    .insertInto('drafts')
    .values(row)
    .onConflict((oc) => oc.columns(['user_id', 'id']).doNothing())
    .executeTakeFirst();
  return result.numInsertedOrUpdatedRows === 1n;
}

type DraftChange = Pick<
  DraftsTable,
  'kind' | 'subject_ref' | 'title' | 'body' | 'version' | 'updated_at' | 'removed_at'
> &
  Partial<Pick<DraftsTable, 'created_at'>>;

/** Compare-and-swap on the version: false when the row is no longer at `expectedVersion`. */
export async function updateDraft(
  db: DraftsDb,
  userId: string,
  id: string,
  expectedVersion: number,
  change: DraftChange,
): Promise<boolean> {
  const result = await tables(db)
    .updateTable('drafts')
    .set(change)
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export interface DraftsPageQuery {
  kind: DraftKind | undefined;
  limit: number;
  cursor: { updatedAt: number; id: string } | undefined;
}

/** Live drafts, newest change first; one more row than `limit` tells the caller there is a next page. */
export function listDraftRows(db: DraftsDb, userId: string, query: DraftsPageQuery): Promise<DraftsTable[]> {
  let select = tables(db)
    .selectFrom('drafts')
    .selectAll()
    .where('user_id', '=', userId)
    .where('removed_at', 'is', null);
  if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
  const cursor = query.cursor;
  if (cursor !== undefined) {
    select = select.where((eb) =>
      eb.or([
        eb('updated_at', '<', cursor.updatedAt),
        eb.and([eb('updated_at', '=', cursor.updatedAt), eb('id', '<', cursor.id)]),
      ]),
    );
  }
  return select
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
    .execute();
}
