import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationResultSet } from 'kysely/migration';
import { migrations, type DatabaseEngine } from './migrations/index.ts';

export interface MigrationReport {
  applied: string[];
  current: string | null;
}

function migratorFor<DB>(db: Kysely<DB>, engine: DatabaseEngine): Migrator {
  const context = { engine };
  return new Migrator({
    db,
    provider: {
      getMigrations: () =>
        Promise.resolve(
          Object.fromEntries(
            Object.entries(migrations).map(([name, m]): [string, Migration] => [
              name,
              {
                up: (tx) => m.up(tx, context),
                ...(m.down ? { down: (tx: Kysely<unknown>) => m.down!(tx, context) } : {}),
              },
            ]),
          ),
        ),
    },
  });
}

function unwrap(outcome: MigrationResultSet): string[] {
  if (outcome.error !== undefined) {
    const failed = outcome.results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(
      `Migration ${failed ?? '(unknown)'} failed: ${outcome.error instanceof Error ? outcome.error.message : JSON.stringify(outcome.error)}`,
      { cause: outcome.error },
    );
  }
  return (outcome.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Applies every pending migration in one locked run (safe with several API nodes). */
export async function migrateToLatest<DB>(db: Kysely<DB>, engine: DatabaseEngine): Promise<MigrationReport> {
  const migrator = migratorFor(db, engine);
  const applied = unwrap(await migrator.migrateToLatest());
  return { applied, current: await currentMigration(migrator) };
}

export async function migrateDownOne<DB>(db: Kysely<DB>, engine: DatabaseEngine): Promise<MigrationReport> {
  const migrator = migratorFor(db, engine);
  const applied = unwrap(await migrator.migrateDown());
  return { applied, current: await currentMigration(migrator) };
}

export async function pendingMigrations<DB>(db: Kysely<DB>, engine: DatabaseEngine): Promise<string[]> {
  const all = await migratorFor(db, engine).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

async function currentMigration(migrator: Migrator): Promise<string | null> {
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt !== undefined).at(-1)?.name ?? null;
}
