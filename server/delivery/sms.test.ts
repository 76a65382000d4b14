import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.ts';
import { captureLogs, rejectionOf } from '../../tests/support/logs.ts';
import { createScratchDatabase, postgresUnavailableReason } from '../../tests/support/postgres.ts';
import { startTestTwilioServer, type TestTwilioServer } from '../../tests/support/twilio.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import type { DatabaseTarget } from '../config.ts';
import { describeSchema } from '../db/schema-snapshot.ts';
import * as deliveryMigration from './migration.ts';
import {
  createSmsSender,
  isE164,
  maskPhoneNumber,
  normalizePhoneNumber,
  type DeliveryTables,
  type SmsSenderOptions,
  type TwilioOptions,
} from './sms.ts';

const quiet = pino({ level: 'silent' });
const HOUR = 3_600_000;
const ANA = '+447700900123';
const BEN = '+14155550100';
const CODE_TEXT = 'Your MegiLance code is 493817';

/** Opens (and on first use migrates) a database; the delivery table is applied unless already registered. */
async function openDeliveryDatabase(target: DatabaseTarget): Promise<DatabaseHandle> {
  const handle = openDatabase(target, quiet, 1_000);
  await migrateToLatest(handle.db, handle.engine);
  const tables = await handle.db.introspection.getTables();
  if (!tables.some((t) => t.name === 'sms_rate_limits')) {
    await deliveryMigration.up(handle.db as Kysely<unknown>, { engine: handle.engine });
  }
  return handle;
}

const deliveryDb = (handle: DatabaseHandle): Kysely<DeliveryTables> => handle.db.$extendTables<DeliveryTables>();

function asAppError(error: Error): AppError {
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

let dir: string;
let twilio: TestTwilioServer;
let database: DatabaseHandle;
let clock: number;

function twilioOptions(overrides: Partial<TwilioOptions> = {}): TwilioOptions {
  return {
    accountSid: twilio.accountSid,
    authToken: twilio.authToken,
    sender: { from: twilio.fromNumbers[0]! },
    baseUrl: twilio.baseUrl,
    timeoutMs: 2_000,
    ...overrides,
  };
}

function sender(overrides: Partial<SmsSenderOptions> = {}) {
  return createSmsSender({
    twilio: twilioOptions(),
    db: deliveryDb(database),
    logger: quiet,
    now: () => clock,
    ...overrides,
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megilance-sms-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  twilio = await startTestTwilioServer();
  database = await openDeliveryDatabase({ engine: 'sqlite', file: join(dir, `${crypto.randomUUID()}.sqlite`) });
  clock = Date.UTC(2030, 0, 1, 9, 0, 0);
});

afterEach(async () => {
  await twilio.close();
  await database.close();
});

describe('phone numbers', () => {
  it('accepts what people type and sends E.164', () => {
    expect(normalizePhoneNumber('+44 7700 900123')).toBe(ANA);
    expect(normalizePhoneNumber(' +1 (415) 555-0100 ')).toBe(BEN);
    expect(isE164(ANA)).toBe(true);
    expect(isE164('447700900123')).toBe(false);
    expect(maskPhoneNumber(ANA)).toBe('+44*******123');
  });

  it.each([
    ['07700 900123', /country code/],
    ['', /Enter a mobile phone number/],
    ['+0 7700 900123', /international format/],
    ['+44 12', /international format/],
    ['+44 7700 900123 4567 89', /international format/],
    ['+44 77OO 9OO123', /international format/],
  ])('rejects %j with a message on the "to" field', async (to, problem) => {
    const error = asAppError(await rejectionOf(sender().send({ to, body: CODE_TEXT })));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fieldErrors?.['to']?.[0]).toMatch(problem);
    expect(twilio.requests).toHaveLength(0);
  });
});

describe('sending through Twilio', () => {
  it('posts the message with Basic auth and returns its SID', async () => {
    const sent = await sender().send({ to: '+44 7700 900123', body: CODE_TEXT });

    expect(sent.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(sent.status).toBe('queued');
    expect(sent.to).toBe(ANA);
    expect(twilio.messages).toEqual([
      expect.objectContaining({ sid: sent.sid, to: ANA, from: '+15005550006', body: CODE_TEXT }),
    ]);
  });

  it('can send from a Messaging Service instead of a number', async () => {
    const serviceSid = twilio.messagingServiceSids[0]!;
    const sms = sender({ twilio: twilioOptions({ sender: { messagingServiceSid: serviceSid } }) });

    expect(sms.availability()).toEqual({ available: true, provider: 'twilio', sender: 'messaging-service' });
    const sent = await sms.send({ to: ANA, body: CODE_TEXT });
    expect(sent.status).toBe('accepted');
    expect(twilio.messages[0]).toMatchObject({ messagingServiceSid: serviceSid, from: null, to: ANA });
  });

  it.each([
    ['+15005550001', 'This is not a valid phone number.'],
    ['+15005550009', 'This number cannot receive text messages. Use a mobile number.'],
    ['+15005550004', expect.stringMatching(/opted out/) as unknown as string],
    ['+15005550003', expect.stringMatching(/cannot send text messages to this country/) as unknown as string],
  ])('turns Twilio refusing %s into a field error, without using up that number’s allowance', async (to, message) => {
    const sms = sender();
    const first = asAppError(await rejectionOf(sms.send({ to, body: CODE_TEXT })));
    expect(first.code).toBe('VALIDATION_FAILED');
    expect(first.fieldErrors).toEqual({ to: [message] });

    // Nothing was sent, so trying again at once is not "too many messages".
    const again = asAppError(await rejectionOf(sms.send({ to, body: CODE_TEXT })));
    expect(again.code).toBe('VALIDATION_FAILED');
    expect(twilio.messages).toHaveLength(0);
  });

  it('reports bad credentials to the operator, not to the user', async () => {
    const logs = captureLogs();
    const sms = sender({ twilio: twilioOptions({ authToken: 'not-the-token' }), logger: logs.logger });

    const error = asAppError(await rejectionOf(sms.send({ to: ANA, body: CODE_TEXT })));

    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).not.toMatch(/token|SID|twilio/i);
    expect((error.cause as Error).message).toMatch(/SMS_TWILIO_AUTH_TOKEN/);
    const [line] = logs.atLeast('error');
    expect(line).toMatchObject({ twilioCode: 20003, httpStatus: 401, to: '+44*******123' });
    expect(line?.msg).toMatch(/rejected the credentials.*SMS_TWILIO_ACCOUNT_SID.*SMS_TWILIO_AUTH_TOKEN/);
    expect(logs.text()).not.toContain('493817');
    expect(logs.text()).not.toContain(ANA);
    expect(logs.text()).not.toContain('not-the-token');
  });

  it('reports a sender the account does not own to the operator', async () => {
    const logs = captureLogs();
    const sms = sender({ twilio: twilioOptions({ sender: { from: '+15005550007' } }), logger: logs.logger });

    const error = asAppError(await rejectionOf(sms.send({ to: ANA, body: CODE_TEXT })));
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(logs.atLeast('error')[0]?.msg).toMatch(/SMS_TWILIO_FROM.*21606/);
  });

  it('gives up after the timeout when Twilio does not answer, and counts the message as maybe sent', async () => {
    const sms = sender({ twilio: twilioOptions({ timeoutMs: 300 }) });
    twilio.failNext({ kind: 'hang' });

    const started = performance.now();
    const error = asAppError(await rejectionOf(sms.send({ to: ANA, body: CODE_TEXT })));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).toMatch(/did not answer in time/);

    // It may have reached the phone: an immediate retry would risk two codes.
    const retry = asAppError(await rejectionOf(sms.send({ to: ANA, body: CODE_TEXT })));
    expect(retry.code).toBe('RATE_LIMITED');
  });

  it('treats a non-Twilio answer as the provider being unavailable', async () => {
    const logs = captureLogs();
    twilio.failNext({
      kind: 'respond',
      status: 502,
      body: '<html>Bad gateway</html>',
      headers: { 'content-type': 'text/html' },
    });

    const error = asAppError(await rejectionOf(sender({ logger: logs.logger }).send({ to: ANA, body: CODE_TEXT })));
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(logs.atLeast('warn')[0]).toMatchObject({ httpStatus: 502 });
  });

  it('passes on how long Twilio asks us to back off', async () => {
    twilio.failNext({
      kind: 'respond',
      status: 429,
      body: JSON.stringify({ code: 20429, message: 'Too Many Requests', more_info: '', status: 429 }),
      headers: { 'content-type': 'application/json', 'retry-after': '7' },
    });
    const error = asAppError(await rejectionOf(sender().send({ to: ANA, body: CODE_TEXT })));
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.details).toMatchObject({ retryAfterSeconds: 7 });
  });

  it('refuses to send the auth token over plain HTTP to another machine', () => {
    expect(() => sender({ twilio: twilioOptions({ baseUrl: 'http://api.twilio.com' }) })).toThrow(/must use https/);
    expect(() => sender({ twilio: twilioOptions({ baseUrl: 'https://api.twilio.com' }) })).not.toThrow();
  });

  it('refuses an empty or over-long body before contacting Twilio', async () => {
    for (const body of ['   ', 'x'.repeat(1601)]) {
      const error = asAppError(await rejectionOf(sender().send({ to: ANA, body })));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.fieldErrors?.['body']).toHaveLength(1);
    }
    expect(twilio.requests).toHaveLength(0);
  });
});

describe('without Twilio configuration', () => {
  it('says SMS is unavailable and why, and sends nothing', async () => {
    // A database without the table: touching it would fail differently.
    const bare = openDatabase({ engine: 'sqlite', file: ':memory:' }, quiet, 1_000);
    try {
      const sms = createSmsSender({ twilio: null, db: deliveryDb(bare), logger: quiet });
      const availability = sms.availability();
      expect(availability.available).toBe(false);
      expect(availability.available === false && availability.reason).toMatch(
        /SMS_TWILIO_ACCOUNT_SID.*SMS_TWILIO_AUTH_TOKEN.*SMS_TWILIO_FROM/,
      );

      const error = asAppError(await rejectionOf(sms.send({ to: ANA, body: CODE_TEXT })));
      expect(error.code).toBe('FEATURE_UNAVAILABLE');
      expect(error.message).toBe('Text messages are not set up on this server.');
      expect(twilio.requests).toHaveLength(0);
    } finally {
      await bare.close();
    }
  });
});

describe('per-number rate limit', () => {
  async function expectLimited(promise: Promise<unknown>, retryAfterSeconds: number): Promise<void> {
    const error = asAppError(await rejectionOf(promise));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.details?.['retryAfterSeconds']).toBe(retryAfterSeconds);
  }

  it('allows one message per 30 seconds and five per hour to each number', async () => {
    const sms = sender();
    const first = clock;
    await sms.send({ to: ANA, body: CODE_TEXT });
    await expectLimited(sms.send({ to: ANA, body: CODE_TEXT }), 30);
    clock += 10_000;
    await expectLimited(sms.send({ to: ANA, body: CODE_TEXT }), 20);

    // Another number has its own allowance.
    await sms.send({ to: BEN, body: CODE_TEXT });

    for (let i = 0; i < 4; i++) {
      clock += 30_000;
      await sms.send({ to: ANA, body: CODE_TEXT });
    }
    clock += 60_000;
    // Five in the last hour: the next one fits when the first leaves the window.
    await expectLimited(sms.send({ to: ANA, body: CODE_TEXT }), (first + HOUR - clock) / 1000);
    expect(twilio.messages.filter((m) => m.to === ANA)).toHaveLength(5);

    clock = first + HOUR + 1;
    await sms.send({ to: ANA, body: CODE_TEXT });
    expect(twilio.messages.filter((m) => m.to === ANA)).toHaveLength(6);
  });

  it('honours configured limits', async () => {
    const sms = sender({ rateLimit: { maxPerHour: 2, minIntervalSeconds: 0 } });
    await sms.send({ to: ANA, body: CODE_TEXT });
    clock += 1;
    await sms.send({ to: ANA, body: CODE_TEXT });
    clock += 1;
    await expectLimited(sms.send({ to: ANA, body: CODE_TEXT }), 3600);
  });

  it('still holds after the server restarts on the same database file', async () => {
    const file = join(dir, 'restart.sqlite');
    let handle = await openDeliveryDatabase({ engine: 'sqlite', file });
    const first = clock;
    try {
      const before = createSmsSender({
        twilio: twilioOptions(),
        db: deliveryDb(handle),
        logger: quiet,
        now: () => clock,
      });
      for (let i = 0; i < 5; i++) {
        if (i > 0) clock += 30_000;
        await before.send({ to: ANA, body: CODE_TEXT });
      }
      await before.send({ to: BEN, body: CODE_TEXT });
    } finally {
      await handle.close();
    }

    handle = await openDeliveryDatabase({ engine: 'sqlite', file });
    try {
      const after = createSmsSender({
        twilio: twilioOptions(),
        db: deliveryDb(handle),
        logger: quiet,
        now: () => clock,
      });
      clock += 5_000;
      // BEN had one message 5 s ago; ANA has had her five this hour.
      await expectLimited(after.send({ to: BEN, body: CODE_TEXT }), 25);
      await expectLimited(after.send({ to: ANA, body: CODE_TEXT }), (first + HOUR - clock) / 1000);
      expect(twilio.messages).toHaveLength(6);
    } finally {
      await handle.close();
    }
  });

  it.each([
    ['a number never texted before', 0],
    ['a number texted earlier this hour', 1],
  ])('lets exactly one of several simultaneous requests for %s through', async (_case, earlier) => {
    const sms = sender();
    for (let i = 0; i < earlier; i++) {
      await sms.send({ to: ANA, body: CODE_TEXT });
      clock += 31_000;
    }
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => sms.send({ to: ANA, body: CODE_TEXT })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as AppError).code);
    expect(refused).toEqual(Array(5).fill('RATE_LIMITED'));
    expect(twilio.messages).toHaveLength(earlier + 1);
  });
});

describe('on PostgreSQL', () => {
  let skipReason: string | null = null;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let pgHandle: DatabaseHandle | undefined;

  beforeAll(async () => {
    skipReason = await postgresUnavailableReason();
    if (skipReason !== null) {
      console.warn(`[sms] skipping PostgreSQL tests: ${skipReason}`);
      return;
    }
    scratch = await createScratchDatabase();
    pgHandle = await openDeliveryDatabase({ engine: 'postgres', url: scratch.url });
  });

  afterAll(async () => {
    await pgHandle?.close();
    await scratch?.drop();
  });

  it('the migration makes the same table as on SQLite, and rolls back', async (ctx) => {
    if (pgHandle === undefined) return ctx.skip(skipReason ?? 'PostgreSQL unavailable');
    const onPostgres = await describeSchema(pgHandle.db, 'postgres');
    const onSqlite = await describeSchema(database.db, 'sqlite');
    expect(onPostgres['sms_rate_limits']).toEqual(onSqlite['sms_rate_limits']);
    expect(onSqlite['sms_rate_limits']?.primaryKey).toEqual(['destination']);

    await deliveryMigration.down(pgHandle.db as Kysely<unknown>);
    expect(Object.keys(await describeSchema(pgHandle.db, 'postgres'))).not.toContain('sms_rate_limits');
    await deliveryMigration.up(pgHandle.db as Kysely<unknown>, { engine: 'postgres' });
  });

  it('the limit holds under simultaneous requests from two API nodes', async (ctx) => {
    if (pgHandle === undefined || scratch === undefined) return ctx.skip(skipReason ?? 'PostgreSQL unavailable');
    const second = openDatabase({ engine: 'postgres', url: scratch.url }, quiet, 1_000);
    try {
      const nodes = [pgHandle, second].map((handle) =>
        createSmsSender({
          twilio: twilioOptions(),
          db: deliveryDb(handle),
          logger: quiet,
          now: () => clock,
          rateLimit: { maxPerHour: 3, minIntervalSeconds: 0 },
        }),
      );
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => nodes[i % 2]!.send({ to: BEN, body: CODE_TEXT })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect(twilio.messages.filter((m) => m.to === BEN)).toHaveLength(3);
    } finally {
      await second.close();
    }
  });
});
