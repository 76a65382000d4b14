import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/** Who may administer the platform: `member` (everyone) or `admin` (granted from the CLI). */
export async function up(db: Kysely<unknown>, _context: MigrationContext): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('member'))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('role').execute();
}
