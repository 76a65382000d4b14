/**
 * Backup codes: ten one-time codes (`xxxx-xxxx`, 40 bits each) for when the
 * authenticator app is lost. The server shows them once, when they are
 * made; it keeps only salted SHA-256 hashes (ASVS 2.6.2: below 112 bits a
 * lookup secret must be stored salted and hashed). A code is checked against
 * every unused one in constant time, and spent by a compare-and-swap on
 * used_at, so the same code cannot succeed twice even when raced.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  BACKUP_CODE_ALPHABET,
  BACKUP_CODE_COUNT,
  normaliseBackupCode,
  type IssuedBackupCodes,
} from '../../shared/mfa.ts';
import type { Database } from '../db/schema.ts';
import { hashSecret, newId, secretsEqual } from './secrets.ts';

function newBackupCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += BACKUP_CODE_ALPHABET[randomInt(0, BACKUP_CODE_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

const hashCode = (salt: string, code: string) => hashSecret(`${salt}:${code}`);

/** A new batch of codes; every code of the previous batch stops working. */
export async function issueBackupCodes(db: Kysely<Database>, userId: string, now: number): Promise<IssuedBackupCodes> {
  const codes = new Set<string>();
  while (codes.size < BACKUP_CODE_COUNT) codes.add(newBackupCode());
  const batchId = newId();
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
    await tx
      .insertInto('mfa_backup_codes')
      .values(
        [...codes].map((code) => {
          const salt = randomBytes(16).toString('hex');
          return {
            id: newId(),
            user_id: userId,
            batch_id: batchId,
            salt,
            code_hash: hashCode(salt, code),
            created_at: now,
            used_at: null,
          };
        }),
      )
      .execute();
  });
  return { codes: [...codes], generatedAt: new Date(now) };
}

export async function deleteBackupCodes(db: Kysely<Database>, userId: string): Promise<number> {
  const deleted = await db.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).executeTakeFirst();
  return Number(deleted.numDeletedRows);
}

export async function backupCodeSummary(
  db: Kysely<Database>,
  userId: string,
): Promise<{ remaining: number; generatedAt: number | null }> {
  const rows = await db
    .selectFrom('mfa_backup_codes')
    .select(['used_at', 'created_at'])
    .where('user_id', '=', userId)
    .execute();
  return {
    remaining: rows.filter((row) => row.used_at === null).length,
    generatedAt: rows[0]?.created_at ?? null,
  };
}

/** Spends a code: `remaining` is how many unused codes are left after it. */
export async function consumeBackupCode(
  db: Kysely<Database>,
  userId: string,
  typed: string,
  now: number,
): Promise<{ ok: true; remaining: number } | { ok: false }> {
  const code = normaliseBackupCode(typed);
  if (code === null) return { ok: false };
  const unused = await db
    .selectFrom('mfa_backup_codes')
    .select(['id', 'salt', 'code_hash'])
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .execute();
  // Every code is compared (no early exit), each in constant time: timing says nothing about which matched.
  let match: string | null = null;
  for (const row of unused) {
    if (secretsEqual(hashCode(row.salt, code), row.code_hash)) match = row.id;
  }
  if (match === null) return { ok: false };
  const spent = await db
    .updateTable('mfa_backup_codes')
    .set({ used_at: now })
    .where('id', '=', match)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (spent.numUpdatedRows !== 1n) return { ok: false };
  return { ok: true, remaining: (await backupCodeSummary(db, userId)).remaining };
}
