/**
 * Exactly-once writes. A client that may send the same write twice (the
 * desktop outbox replaying after a lost answer, a double click, a retried
 * request) names the write with an idempotency key; the server applies it
 * once and answers every repeat with the first answer.
 *
 * How, per (scope, key) — the scope is the user and the procedure, so one
 * user's key never reaches another's answers:
 * - One transaction holds the claim, the write and the stored answer, so
 *   either all three happen or none does: a write that fails (CONFLICT,
 *   validation) leaves no key behind, and a crash between the write and
 *   recording its answer cannot happen.
 * - The claim is an insert on the primary key (`ON CONFLICT DO NOTHING`),
 *   before the write. Two concurrent duplicates cannot both run: on
 *   PostgreSQL the second insert waits for the first transaction and then
 *   finds its committed row; SQLite runs write transactions one at a time.
 * - A repeat whose request differs from the first (same key, other input)
 *   is refused with VALIDATION_FAILED on `idempotencyKey`: it is a client
 *   bug, and answering with the other request's result would hide it.
 *
 * Answers are stored with superjson, the API's transformer, so a replayed
 * answer is the same value (dates included) the first call returned.
 * This is a helper services call around their write, not a tRPC middleware:
 * a middleware cannot put the domain's write inside its transaction.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import superjson from 'superjson';
import { AppError } from '../shared/errors.ts';
import type { Database } from './db/schema.ts';

export interface IdempotentWrite {
  /** Whose key and which operation; build it with `idempotencyScope`. */
  scope: string;
  /** The client's key; undefined runs the write (in a transaction) without recording anything. */
  key: string | undefined;
  /** The request the key names, without the key itself: a repeat must send the same. */
  request: unknown;
}

/** Keys are unique per user and procedure. */
export function idempotencyScope(userId: string, procedure: string): string {
  return `user:${userId}:${procedure}`;
}

/**
 * Runs `write` once per (scope, key) and returns its result; a repeat with
 * the same key and request returns the stored result without running it.
 */
export async function runIdempotent<T>(
  db: Kysely<Database>,
  { scope, key, request }: IdempotentWrite,
  write: (trx: Transaction<Database>) => Promise<T>,
  now: () => number = Date.now,
): Promise<T> {
  if (key === undefined) return db.transaction().execute(write);
  const requestHash = hashRequest(request);
  return db.transaction().execute(async (trx) => {
    const claim = await trx
      .insertInto('idempotency_keys')
      .values({ scope, key, request_hash: requestHash, response_json: null, created_at: now() })
      .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
      .executeTakeFirst();
    if (claim.numInsertedOrUpdatedRows === 1n) {
      const result = await write(trx);
      await trx
        .updateTable('idempotency_keys')
        .set({ response_json: superjson.stringify(result) })
        .where('scope', '=', scope)
        .where('key', '=', key)
        .execute();
      return result;
    }
    const first = await trx
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'response_json'])
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    if (first.request_hash !== requestHash) {
      throw new AppError('VALIDATION_FAILED', {
        message: 'This change was already sent with different content. Send it as a new change.',
        fieldErrors: { idempotencyKey: ['This key was already used for a different request.'] },
        details: { reason: 'idempotency_key_reused' },
      });
    }
    if (first.response_json === null) {
      // Only reachable if a claim was ever committed apart from its write; the client retries later.
      throw new AppError('SERVICE_UNAVAILABLE', { message: 'This change is still being applied. Try again shortly.' });
    }
    return superjson.parse<T>(first.response_json);
  });
}

/** Forgets keys older than `before` (epoch ms): a client replaying later than that gets a second write. */
export async function pruneIdempotencyKeys(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** SHA-256 of the request in a canonical form: key order and `undefined` members do not change it. */
export function hashRequest(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, member]) => `${JSON.stringify(name)}:${canonicalJson(member)}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value);
}
