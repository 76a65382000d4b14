/**
 * The whole path the accounts service takes, on real parts: the shipped
 * geo data, list files, a migrated SQLite database and the engine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { migrations } from '../db/migrations/index.ts';
import type { ClientAttributes } from './device.ts';
import { assessSignIn, defaultRiskPolicy, type RiskAssessment } from './engine.ts';
import { loadReputationLists, type ReputationLists } from './ip-reputation.ts';
import * as riskMigration from './migration.ts';
import { gatherSignInSignals } from './signals.ts';
import { loadSignInHistory, recordSignInAttempt, rememberDevice, type RiskTables } from './store.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 2, 14, 9, 30);
const dir = mkdtempSync(join(tmpdir(), 'megilance-risk-flow-'));

const laptop: ClientAttributes = {
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  acceptLanguage: 'en-AU,en;q=0.9',
  timezone: 'Australia/Sydney',
  screen: '1920x1080',
};
const desktopApp: ClientAttributes = {
  userAgent:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) MegiLance/0.1.0 Chrome/140.0.7339.133 Electron/45.4.1 Safari/537.36',
  installId: 'a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b',
};

let handle: DatabaseHandle;
let db: Kysely<RiskTables>;
let lists: ReputationLists;

beforeAll(async () => {
  handle = openDatabase({ engine: 'sqlite', file: join(dir, 'flow.sqlite') }, pino({ level: 'silent' }), 1_000);
  await migrateToLatest(handle.db, 'sqlite');
  if (!Object.values(migrations).includes(riskMigration)) {
    await riskMigration.up(handle.db as Kysely<unknown>, { engine: 'sqlite' });
  }
  db = handle.db.withTables<RiskTables>();
  await sql`insert into users (id, email, email_normalized, display_name, created_at, updated_at)
    values ('ada', 'ada@example.com', 'ada@example.com', 'Ada', 0, 0)`.execute(handle.db);
  const block = join(dir, 'block.txt');
  writeFileSync(block, '# seen stuffing credentials\n45.155.205.0/24\n');
  lists = loadReputationLists({ block: [block], anonymizer: [], allow: [] });
});

afterAll(async () => {
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One sign-in with the right password, as the accounts service would run it; remembers the device when allowed. */
async function signIn(ip: string, client: ClientAttributes, at: number): Promise<RiskAssessment> {
  const { signals, device } = gatherSignInSignals({ ip, at, client }, lists);
  const history = await loadSignInHistory(
    db,
    { userId: 'ada', emailNormalized: 'ada@example.com', ip: signals.ip, now: at },
    defaultRiskPolicy.failureVelocity,
  );
  const assessment = assessSignIn(signals, history, defaultRiskPolicy);
  const succeeded = assessment.decision === 'allow';
  await recordSignInAttempt(db, {
    userId: 'ada',
    emailNormalized: 'ada@example.com',
    ip: signals.ip,
    succeeded,
    at,
    geo: signals.geo,
    device: signals.device,
    assessment,
  });
  if (succeeded) {
    await rememberDevice(db, {
      userId: 'ada',
      fingerprint: device.fingerprint,
      label: device.label,
      at,
      ip: signals.ip,
      country: signals.geo?.country ?? null,
    });
  }
  return assessment;
}

/** The user passed the second factor the engine asked for: the service records the success and remembers the device. */
async function passSecondFactor(ip: string, client: ClientAttributes, at: number, assessment: RiskAssessment) {
  const { signals, device } = gatherSignInSignals({ ip, at, client }, lists);
  await recordSignInAttempt(db, {
    userId: 'ada',
    emailNormalized: 'ada@example.com',
    ip: signals.ip,
    succeeded: true,
    at,
    geo: signals.geo,
    device: signals.device,
    assessment,
  });
  await rememberDevice(db, {
    userId: 'ada',
    fingerprint: device.fingerprint,
    label: device.label,
    at,
    ip: signals.ip,
    country: signals.geo?.country ?? null,
  });
}

describe('sign-in risk, end to end', () => {
  it('knows a device after its first sign-in, then flags Germany an hour after Australia', async () => {
    // First sign-in ever, from Australia (1.1.1.1): the laptop is new, so a second factor is asked for.
    const first = await signIn('1.1.1.1', laptop, NOW - 25 * HOUR);
    expect(first.decision).toBe('require_mfa');
    expect(first.newDeviceNotice).toBe('New sign-in from Chrome 156 on Linux in Australia');
    await passSecondFactor('1.1.1.1', laptop, NOW - 25 * HOUR, first);

    // The same laptop from the same place a day later: nothing to ask.
    const again = await signIn('::ffff:1.1.1.1', laptop, NOW - HOUR);
    expect(again).toMatchObject({ decision: 'allow', score: 0, reasons: [], newDeviceNotice: null });

    // One hour after that, the desktop app signs in from Berlin (TU Berlin's network).
    const berlin = await signIn('130.149.7.201', desktopApp, NOW);
    expect(berlin.decision).toBe('block');
    expect(berlin.reasons.map((r) => r.code)).toEqual(['IMPOSSIBLE_TRAVEL', 'NEW_DEVICE', 'NEW_COUNTRY']);
    const travel = berlin.reasons[0]!;
    expect(travel.message).toMatch(
      /^Sign-in from Berlin, Germany 1 hour after one from Australia, 1[4-6],\d{3} km away: that would mean travelling at least 1[3-6],\d{3} km\/h$/,
    );
    expect(berlin.newDeviceNotice).toBe('New sign-in from MegiLance Desktop 0.1.0 on macOS in Berlin, Germany');
  });

  it('blocks an address on the configured block list', async () => {
    const result = await signIn('45.155.205.233', laptop, NOW + HOUR);
    expect(result.decision).toBe('block');
    expect(result.reasons[0]).toMatchObject({
      code: 'BAD_IP',
      message: 'Sign-in attempt from a blocked network address (45.155.205.233)',
    });
  });
});
