/**
 * The risk tables on a real database: a fresh SQLite file per test (and the
 * same suite on a scratch PostgreSQL when one is reachable), migrated to
 * the latest foundation and then this module's migration.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratchDatabase,
  postgresUnavailableReason,
  type ScratchDatabase,
} from '../../tests/support/postgres.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { migrations, type DatabaseEngine } from '../db/migrations/index.ts';
import type { GeoLocation } from './geo.ts';
import * as riskMigration from './migration.ts';
import {
  forgetDevice,
  listKnownDevices,
  loadSignInHistory,
  pruneSignInAttempts,
  recordSignInAttempt,
  rememberDevice,
  type RiskTables,
  type SignInAttempt,
} from './store.ts';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'megilance-risk-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const postgresSkip = await postgresUnavailableReason();

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.UTC(2026, 2, 14, 9, 30);
const WINDOWS = { accountWindowMinutes: 60, ipWindowMinutes: 15 };
const SYDNEY: GeoLocation = {
  country: 'AU',
  region: 'NSW',
  city: 'Sydney',
  latitude: -33.8688,
  longitude: 151.2093,
  accuracyKm: 20,
};

/** Opens a migrated database with the risk tables, whether or not the migration is registered yet. */
async function openRiskDatabase(engine: DatabaseEngine, scratch: ScratchDatabase | undefined) {
  const handle: DatabaseHandle =
    engine === 'sqlite'
      ? openDatabase({ engine: 'sqlite', file: join(dir, `${crypto.randomUUID()}.sqlite`) }, logger, 1_000)
      : openDatabase({ engine: 'postgres', url: scratch!.url }, logger, 1_000);
  await migrateToLatest(handle.db, engine);
  if (!Object.values(migrations).includes(riskMigration)) {
    await riskMigration.up(handle.db as Kysely<unknown>, { engine });
  }
  return { handle, db: handle.db.withTables<RiskTables>() };
}

async function addUser(db: Kysely<unknown>, id: string): Promise<void> {
  await sql`insert into users (id, email, email_normalized, display_name, created_at, updated_at)
    values (${id}, ${`${id}@example.com`}, ${`${id}@example.com`}, ${id}, ${NOW}, ${NOW})`.execute(db);
}

function attempt(overrides: Partial<SignInAttempt>): SignInAttempt {
  return {
    userId: 'ada',
    emailNormalized: 'ada@example.com',
    ip: '1.1.1.1',
    succeeded: false,
    at: NOW,
    geo: null,
    device: null,
    assessment: null,
    ...overrides,
  };
}

describe.each([
  { engine: 'sqlite' as const, skip: null },
  { engine: 'postgres' as const, skip: postgresSkip },
])('risk store on $engine', ({ engine, skip }) => {
  let scratch: ScratchDatabase | undefined;
  let handle: DatabaseHandle;
  let db: Kysely<RiskTables>;

  beforeEach(async (context) => {
    if (skip !== null) {
      context.skip(skip);
      return;
    }
    if (engine === 'postgres') scratch = await createScratchDatabase();
    ({ handle, db } = await openRiskDatabase(engine, scratch));
    await addUser(handle.db as Kysely<unknown>, 'ada');
    await addUser(handle.db as Kysely<unknown>, 'grace');
  });

  afterEach(async () => {
    if (skip !== null) return;
    await handle.close();
    await scratch?.drop();
    scratch = undefined;
  });

  it('gives a fresh account an empty history', async () => {
    expect(
      await loadSignInHistory(
        db,
        { userId: 'ada', emailNormalized: 'ada@example.com', ip: '1.1.1.1', now: NOW },
        WINDOWS,
      ),
    ).toEqual({
      knownDeviceFingerprints: [],
      knownCountries: [],
      lastSuccessfulSignIn: null,
      recentFailures: { account: 0, ip: 0 },
    });
  });

  it('round-trips the history the engine reads: devices, countries, last sign-in and its place', async () => {
    await recordSignInAttempt(
      db,
      attempt({
        succeeded: true,
        at: NOW - 2 * HOUR,
        geo: SYDNEY,
        device: { fingerprint: 'browser:old', label: 'Firefox 128 on Windows' },
      }),
    );
    const lastId = await recordSignInAttempt(
      db,
      attempt({
        succeeded: true,
        at: NOW - HOUR,
        ip: '::ffff:1.1.1.1',
        geo: SYDNEY,
        device: { fingerprint: 'browser:laptop', label: 'Chrome 156 on Linux' },
        assessment: {
          score: 35,
          decision: 'require_mfa',
          reasons: [
            { code: 'NEW_DEVICE', message: 'New sign-in from Chrome 156 on Linux in Sydney, Australia', weight: 35 },
          ],
        },
      }),
    );
    expect(lastId).toBeGreaterThan(0);
    await rememberDevice(db, {
      userId: 'ada',
      fingerprint: 'browser:laptop',
      label: 'Chrome 156 on Linux',
      at: NOW - HOUR,
      ip: '1.1.1.1',
      country: 'AU',
    });
    await rememberDevice(db, {
      userId: 'ada',
      fingerprint: 'install:desk',
      label: 'MegiLance Desktop 0.1.0 on macOS',
      at: NOW - 3 * HOUR,
      ip: '81.169.145.1',
      country: 'DE',
    });
    // Another account's devices and sign-ins are not Ada's.
    await rememberDevice(db, {
      userId: 'grace',
      fingerprint: 'browser:g',
      label: 'x',
      at: NOW,
      ip: '8.8.8.8',
      country: 'US',
    });
    await recordSignInAttempt(
      db,
      attempt({ userId: 'grace', emailNormalized: 'grace@example.com', succeeded: true, at: NOW - MINUTE, geo: null }),
    );

    const history = await loadSignInHistory(
      db,
      { userId: 'ada', emailNormalized: 'ada@example.com', ip: '81.169.145.1', now: NOW },
      WINDOWS,
    );
    expect([...history.knownDeviceFingerprints].sort()).toEqual(['browser:laptop', 'install:desk']);
    expect(history.knownCountries).toEqual(['AU', 'DE']);
    expect(history.lastSuccessfulSignIn).toEqual({ at: NOW - HOUR, geo: SYDNEY });
    expect(history.recentFailures).toEqual({ account: 0, ip: 0 });

    const stored = await db
      .selectFrom('sign_in_attempts')
      .selectAll()
      .where('id', '=', lastId)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      ip: '1.1.1.1',
      succeeded: 1,
      risk_score: 35,
      decision: 'require_mfa',
      reason_codes: 'NEW_DEVICE',
      latitude_e6: -33_868_800,
      longitude_e6: 151_209_300,
      device_label: 'Chrome 156 on Linux',
    });
  });

  it('counts failures per account within the hour and per IP within 15 minutes, across spellings', async () => {
    const failures = [
      attempt({ at: NOW - 10 * MINUTE, ip: '203.0.113.7' }),
      attempt({ at: NOW - 50 * MINUTE, ip: '198.51.100.1' }),
      attempt({ at: NOW - 2 * HOUR, ip: '198.51.100.1' }), // outside the account window
      attempt({ at: NOW - 5 * MINUTE, ip: '::ffff:203.0.113.7', userId: null, emailNormalized: 'nobody@example.com' }),
      attempt({ at: NOW - 20 * MINUTE, ip: '203.0.113.7', userId: 'grace', emailNormalized: 'grace@example.com' }), // outside the IP window
      attempt({ at: NOW - MINUTE, ip: '203.0.113.7', succeeded: true }), // a success is not a failure
    ];
    for (const f of failures) await recordSignInAttempt(db, f);

    const history = await loadSignInHistory(
      db,
      { userId: 'ada', emailNormalized: 'ada@example.com', ip: '203.0.113.7', now: NOW },
      WINDOWS,
    );
    expect(history.recentFailures).toEqual({ account: 2, ip: 2 });

    // An email with no account still has its failures and its IP's counted.
    const unknown = await loadSignInHistory(
      db,
      { userId: null, emailNormalized: 'nobody@example.com', ip: '::ffff:203.0.113.7', now: NOW },
      WINDOWS,
    );
    expect(unknown).toEqual({
      knownDeviceFingerprints: [],
      knownCountries: [],
      lastSuccessfulSignIn: null,
      recentFailures: { account: 1, ip: 2 },
    });
  });

  it('remembers a device once, refreshing when and where it was last seen', async () => {
    const first = {
      userId: 'ada',
      fingerprint: 'browser:laptop',
      label: 'Chrome 155 on Linux',
      at: NOW - 30 * HOUR,
      ip: '1.1.1.1',
      country: 'AU',
    };
    await rememberDevice(db, first);
    await rememberDevice(db, {
      ...first,
      label: 'Chrome 156 on Linux',
      at: NOW,
      ip: '::ffff:81.169.145.1',
      country: 'DE',
    });
    await rememberDevice(db, {
      ...first,
      fingerprint: 'browser:phone',
      label: 'Safari 17 on iOS (iPhone)',
      at: NOW - HOUR,
    });

    expect(await listKnownDevices(db, 'ada')).toEqual([
      {
        fingerprint: 'browser:laptop',
        label: 'Chrome 156 on Linux',
        firstSeenAt: new Date(NOW - 30 * HOUR),
        lastSeenAt: new Date(NOW),
        lastIp: '81.169.145.1',
        lastCountry: 'DE',
      },
      {
        fingerprint: 'browser:phone',
        label: 'Safari 17 on iOS (iPhone)',
        firstSeenAt: new Date(NOW - HOUR),
        lastSeenAt: new Date(NOW - HOUR),
        lastIp: '1.1.1.1',
        lastCountry: 'AU',
      },
    ]);

    expect(await forgetDevice(db, 'ada', 'browser:phone')).toBe(true);
    expect(await forgetDevice(db, 'ada', 'browser:phone')).toBe(false);
    const history = await loadSignInHistory(
      db,
      { userId: 'ada', emailNormalized: 'ada@example.com', ip: '1.1.1.1', now: NOW },
      WINDOWS,
    );
    expect(history.knownDeviceFingerprints).toEqual(['browser:laptop']);
  });

  it('prunes old attempts, and deleting an account deletes its devices and attempts', async () => {
    await recordSignInAttempt(db, attempt({ at: NOW - 100 * 24 * HOUR }));
    await recordSignInAttempt(db, attempt({ at: NOW - HOUR }));
    await recordSignInAttempt(db, attempt({ userId: 'grace', emailNormalized: 'grace@example.com', at: NOW }));
    await rememberDevice(db, {
      userId: 'ada',
      fingerprint: 'browser:x',
      label: 'x',
      at: NOW,
      ip: '1.1.1.1',
      country: null,
    });

    expect(await pruneSignInAttempts(db, NOW - 90 * 24 * HOUR)).toBe(1);

    await sql`delete from users where id = ${'ada'}`.execute(handle.db);
    const left = await db.selectFrom('sign_in_attempts').select('user_id').execute();
    expect(left).toEqual([{ user_id: 'grace' }]);
    expect(await listKnownDevices(db, 'ada')).toEqual([]);
  });

  it('rolls its migration back cleanly', async () => {
    await riskMigration.down(handle.db as Kysely<unknown>);
    await expect(db.selectFrom('known_devices').selectAll().execute()).rejects.toThrow();
    await expect(db.selectFrom('sign_in_attempts').selectAll().execute()).rejects.toThrow();
  });
});
