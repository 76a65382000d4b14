/**
 * Gives a test its own throw-away PostgreSQL database on the server named by
 * MEGILANCE_TEST_PG_URL (default: the local trust-auth server). When none is
 * reachable, `reason` says why so suites can skip with that message.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const adminUrl = process.env['MEGILANCE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** null when PostgreSQL is reachable, otherwise a one-line reason to skip. */
export async function postgresUnavailableReason(): Promise<string | null> {
  try {
    await withAdmin((client) => client.query('select 1'));
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `PostgreSQL not reachable at ${adminUrl.replace(/:[^:@/]*@/, ':***@')} (${message}); set MEGILANCE_TEST_PG_URL to run these tests`;
  }
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `megilance_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
