/**
 * A portable description of the live schema (tables, columns, keys,
 * indexes, foreign keys) read from the database itself, with engine
 * spellings normalised, so SQLite and PostgreSQL can be compared.
 */
import { sql, type Kysely } from 'kysely';
import type { DatabaseEngine } from './migrations/index.ts';

export interface ColumnShape {
  type: string;
  nullable: boolean;
  default: string | null;
}

export interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: string[];
  indexes: Record<string, { columns: string[]; unique: boolean }>;
  foreignKeys: string[];
}

export type SchemaShape = Record<string, TableShape>;

const typeAliases: Record<string, string> = {
  int8: 'bigint',
  int4: 'integer',
  int: 'integer',
  int2: 'smallint',
  'character varying': 'varchar',
  'double precision': 'double',
  float8: 'double',
  bool: 'boolean',
};

export function normaliseType(raw: string): string {
  const lower = raw
    .toLowerCase()
    .trim()
    .replace(/\(.*\)$/, '');
  return typeAliases[lower] ?? lower;
}

export function normaliseDefault(raw: string | null): string | null {
  if (raw === null) return null;
  // PostgreSQL writes '{}'::text; SQLite keeps the literal as written.
  return raw.replace(/::[a-z ]+(\[\])?$/i, '').replace(/^\((.*)\)$/, '$1');
}

export async function describeSchema<DB>(db: Kysely<DB>, engine: DatabaseEngine): Promise<SchemaShape> {
  return engine === 'sqlite' ? describeSqlite(db) : describePostgres(db);
}

async function describeSqlite<DB>(db: Kysely<DB>): Promise<SchemaShape> {
  const tables = await sql<{ name: string; sql: string }>`
    select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db);
  const shape: SchemaShape = {};
  for (const { name, sql: ddl } of tables.rows) {
    const columns = await sql<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>`
      select * from pragma_table_info(${name})`.execute(db);
    const autoIncrement = /autoincrement/i.test(ddl);
    const table: TableShape = { columns: {}, primaryKey: [], indexes: {}, foreignKeys: [] };
    for (const c of [...columns.rows].sort((a, b) => a.pk - b.pk)) {
      const serial = autoIncrement && c.pk === 1 && normaliseType(c.type) === 'integer';
      table.columns[c.name] = {
        type: serial ? 'serial' : normaliseType(c.type),
        nullable: c.notnull === 0 && c.pk === 0,
        default: serial ? null : normaliseDefault(c.dflt_value),
      };
      if (c.pk > 0) table.primaryKey.push(c.name);
    }
    const indexes = await sql<{ name: string; unique: number; origin: string }>`
      select * from pragma_index_list(${name})`.execute(db);
    for (const index of indexes.rows.filter((i) => i.origin !== 'pk')) {
      const cols = await sql<{ name: string; seqno: number }>`select * from pragma_index_info(${index.name})`.execute(
        db,
      );
      table.indexes[index.name] = {
        columns: cols.rows.sort((a, b) => a.seqno - b.seqno).map((c) => c.name),
        unique: index.unique === 1,
      };
    }
    const fks = await sql<{ table: string; from: string; to: string; on_delete: string; seq: number; id: number }>`
      select * from pragma_foreign_key_list(${name})`.execute(db);
    table.foreignKeys = fks.rows
      .map((f) => `${f.from} -> ${f.table}.${f.to} on delete ${f.on_delete.toLowerCase()}`)
      .sort();
    shape[name] = table;
  }
  return shape;
}

async function describePostgres<DB>(db: Kysely<DB>): Promise<SchemaShape> {
  const columns = await sql<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }>`
    select table_name, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = current_schema()
    order by table_name, ordinal_position`.execute(db);
  const shape: SchemaShape = {};
  for (const c of columns.rows) {
    const table = (shape[c.table_name] ??= { columns: {}, primaryKey: [], indexes: {}, foreignKeys: [] });
    const serial = c.column_default?.startsWith('nextval(') ?? false;
    table.columns[c.column_name] = {
      type: serial ? 'serial' : normaliseType(c.data_type),
      nullable: c.is_nullable === 'YES',
      default: serial ? null : normaliseDefault(c.column_default),
    };
  }
  const indexes = await sql<{
    table_name: string;
    index_name: string;
    is_unique: boolean;
    is_primary: boolean;
    columns: string[];
  }>`
    select t.relname as table_name, i.relname as index_name, ix.indisunique as is_unique, ix.indisprimary as is_primary,
           array(select a.attname from unnest(ix.indkey) with ordinality as k(attnum, ord)
                 join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord)::text[] as columns
    from pg_index ix
    join pg_class t on t.oid = ix.indrelid
    join pg_class i on i.oid = ix.indexrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = current_schema()`.execute(db);
  for (const index of indexes.rows) {
    const table = shape[index.table_name];
    if (table === undefined) continue;
    if (index.is_primary) table.primaryKey = index.columns;
    else table.indexes[index.index_name] = { columns: index.columns, unique: index.is_unique };
  }
  const fks = await sql<{
    table_name: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    on_delete: string;
  }>`
    select c.conrelid::regclass::text as table_name,
           array(select attname from pg_attribute where attrelid = c.conrelid and attnum = any(c.conkey))::text[] as columns,
           c.confrelid::regclass::text as ref_table,
           array(select attname from pg_attribute where attrelid = c.confrelid and attnum = any(c.confkey))::text[] as ref_columns,
           case c.confdeltype when 'a' then 'no action' when 'r' then 'restrict' when 'c' then 'cascade'
                              when 'n' then 'set null' when 'd' then 'set default' end as on_delete
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    where c.contype = 'f' and n.nspname = current_schema()`.execute(db);
  for (const fk of fks.rows) {
    const table = shape[fk.table_name];
    if (table === undefined) continue;
    fk.columns.forEach((column, i) =>
      table.foreignKeys.push(`${column} -> ${fk.ref_table}.${fk.ref_columns[i]} on delete ${fk.on_delete}`),
    );
    table.foreignKeys.sort();
  }
  return Object.fromEntries(Object.entries(shape).sort(([a], [b]) => a.localeCompare(b)));
}
