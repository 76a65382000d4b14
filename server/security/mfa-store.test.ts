/**
 * The second-factor tables on both engines: a fresh SQLite file per test and
 * the same suite on a scratch PostgreSQL when one is reachable, where two
 * racing uses of one code really run at once on separate connections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import pino from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratchDatabase,
  postgresUnavailableReason,
  type ScratchDatabase,
} from '../../tests/support/postgres.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { consumeBackupCode, issueBackupCodes } from './backup-codes.ts';
import { createSecretBox } from './secret-box.ts';
import { checkTotpCode, confirmTotpEnrollment, startTotpEnrollment, TOTP_ENROLLMENT_TTL_MS } from './totp.ts';

const logger = pino({ level: 'silent' });
const box = createSecretBox(Buffer.alloc(32, 3));
const dir = mkdtempSync(join(tmpdir(), 'megilance-mfa-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const postgresSkip = await postgresUnavailableReason();
const NOW = Date.UTC(2026, 2, 14, 9, 30, 10);
const ADA = { id: 'ada', email: 'ada@example.com' };

/** The code an app shows `steps` periods after NOW. */
const codeAt = (secret: string, steps = 0) => generate({ secret, epoch: Math.floor(NOW / 1000) + steps * 30 });

describe.each([
  { engine: 'sqlite' as const, skip: null },
  { engine: 'postgres' as const, skip: postgresSkip },
])('second factors on $engine', ({ engine, skip }) => {
  let scratch: ScratchDatabase | undefined;
  let handle: DatabaseHandle;

  beforeEach(async (context) => {
    if (skip !== null) {
      context.skip(skip);
      return;
    }
    if (engine === 'postgres') scratch = await createScratchDatabase();
    handle =
      engine === 'sqlite'
        ? openDatabase({ engine: 'sqlite', file: join(dir, `${crypto.randomUUID()}.sqlite`) }, logger, 1_000)
        : openDatabase({ engine: 'postgres', url: scratch!.url }, logger, 1_000);
    await migrateToLatest(handle.db, engine);
    await handle.db
      .insertInto('users')
      .values({ ...ADA, email_normalized: ADA.email, display_name: 'Ada', created_at: NOW, updated_at: NOW })
      .execute();
  });

  afterEach(async () => {
    if (skip !== null) return;
    await handle.close();
    await scratch?.drop();
    scratch = undefined;
  });

  it('keeps the authenticator key encrypted at rest, bound to its user', async () => {
    const { secret } = await startTotpEnrollment(handle.db, box, ADA, NOW);
    const row = await handle.db
      .selectFrom('mfa_totp')
      .select('secret')
      .where('user_id', '=', ADA.id)
      .executeTakeFirstOrThrow();
    expect(row.secret).toMatch(/^enc:v1:/);
    expect(row.secret).not.toContain(secret);
    // The stored value opens only for this user and with this key.
    expect(box.open(row.secret, ADA.id)).toBe(secret);
    expect(() => box.open(row.secret, 'someone-else')).toThrow(/does not open/);
    expect(() => createSecretBox(Buffer.alloc(32, 4)).open(row.secret, ADA.id)).toThrow(/MFA_ENCRYPTION_KEY/);
    await confirmTotpEnrollment(handle.db, box, ADA.id, await codeAt(secret), NOW);
    expect((await checkTotpCode(handle.db, box, ADA.id, await codeAt(secret, 1), NOW)).kind).toBe('accepted');
  });

  it('still reads a key stored before encryption existed', async () => {
    const plain = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await handle.db
      .insertInto('mfa_totp')
      .values({ user_id: ADA.id, secret: plain, created_at: NOW, confirmed_at: NOW, last_used_step: null })
      .execute();
    expect((await checkTotpCode(handle.db, box, ADA.id, await codeAt(plain), NOW)).kind).toBe('accepted');
  });

  it('restarts a pending set-up with a new secret, but never replaces a confirmed one', async () => {
    const first = await startTotpEnrollment(handle.db, box, ADA, NOW);
    const second = await startTotpEnrollment(handle.db, box, ADA, NOW + 1_000);
    expect(second.secret).not.toBe(first.secret);
    // The first QR code is dead: only the newest secret confirms.
    await expect(confirmTotpEnrollment(handle.db, box, ADA.id, await codeAt(first.secret), NOW)).rejects.toThrow(
      /not right/,
    );
    await confirmTotpEnrollment(handle.db, box, ADA.id, await codeAt(second.secret), NOW);
    await expect(startTotpEnrollment(handle.db, box, ADA, NOW)).rejects.toThrow(/already set up/);
  });

  it('lets a set-up expire', async () => {
    const { secret } = await startTotpEnrollment(handle.db, box, ADA, NOW);
    const later = NOW + TOTP_ENROLLMENT_TTL_MS + 1;
    const code = await generate({ secret, epoch: Math.floor(later / 1000) });
    await expect(confirmTotpEnrollment(handle.db, box, ADA.id, code, later)).rejects.toThrow(/expired/);
  });

  it('accepts each time step once: the confirmation code, earlier steps and racing uses are replays', async () => {
    const { secret } = await startTotpEnrollment(handle.db, box, ADA, NOW);
    const now = await codeAt(secret);
    await confirmTotpEnrollment(handle.db, box, ADA.id, now, NOW);
    expect((await checkTotpCode(handle.db, box, ADA.id, now, NOW)).kind).toBe('replayed');
    expect((await checkTotpCode(handle.db, box, ADA.id, await codeAt(secret, -1), NOW)).kind).toBe('replayed');
    expect((await checkTotpCode(handle.db, box, ADA.id, await codeAt(secret, 2), NOW)).kind).toBe('wrong');

    const next = await codeAt(secret, 1);
    const raced = await Promise.all([
      checkTotpCode(handle.db, box, ADA.id, next, NOW),
      checkTotpCode(handle.db, box, ADA.id, next, NOW),
    ]);
    expect(raced.map((r) => r.kind).sort()).toEqual(['accepted', 'replayed']);
    // Thirty seconds on, the following step is accepted.
    expect((await checkTotpCode(handle.db, box, ADA.id, await codeAt(secret, 2), NOW + 30_000)).kind).toBe('accepted');
    expect((await checkTotpCode(handle.db, box, 'nobody', next, NOW)).kind).toBe('not_enrolled');
  });

  it('spends a backup code once, even when raced, and a new batch ends the old one', async () => {
    const { codes } = await issueBackupCodes(handle.db, ADA.id, NOW);
    const stored = await handle.db.selectFrom('mfa_backup_codes').select(['salt', 'code_hash']).execute();
    expect(stored).toHaveLength(10);
    expect(new Set(stored.map((row) => row.salt)).size).toBe(10);
    expect(JSON.stringify(stored)).not.toContain(codes[0]!);

    const raced = await Promise.all([
      consumeBackupCode(handle.db, ADA.id, codes[0]!, NOW),
      consumeBackupCode(handle.db, ADA.id, codes[0]!, NOW),
    ]);
    expect(raced.filter((r) => r.ok)).toEqual([{ ok: true, remaining: 9 }]);
    expect(await consumeBackupCode(handle.db, 'nobody', codes[1]!, NOW)).toEqual({ ok: false });

    await issueBackupCodes(handle.db, ADA.id, NOW);
    expect(await consumeBackupCode(handle.db, ADA.id, codes[1]!, NOW)).toEqual({ ok: false });
  });
});
