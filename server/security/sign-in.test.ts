/**
 * Risk-based sign-in over real HTTP. The server trusts X-Forwarded-For from
 * loopback (MEGILANCE_TRUST_PROXY), so tests can sign in "from" real public
 * addresses whose places come from the offline geo-IP data.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { apiClient, mailTo, mailedCode as mailedCodeFrom } from '../../tests/support/api.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import type { AppRouter } from '../router.ts';

const SYDNEY = '1.1.1.1'; // AU in the shipped geo data
const BERLIN = '130.149.7.201'; // DE (TU Berlin)
const BLOCKED = '45.155.205.233';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36';
const PASSWORD = 'correct horse battery staple';

let smtp: TestSmtpServer;
let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  const lists = mkdtempSync(join(tmpdir(), 'megilance-lists-'));
  writeFileSync(join(lists, 'block.txt'), `# known attackers\n${BLOCKED}\n198.51.100.0/24\n`);
  env = {
    ...mailTo(smtp),
    MEGILANCE_TRUST_PROXY: '127.0.0.1,::1',
    RISK_IP_BLOCKLIST_FILES: join(lists, 'block.txt'),
  };
  server = await startTestServer(env);
});
afterAll(async () => {
  await server.dispose();
  await smtp.close();
});

const client = (from: string, userAgent = CHROME) => apiClient(server.url, { from, userAgent });
const mailedCode = (email: string, subject: RegExp) => mailedCodeFrom(smtp, email, subject);

let counter = 0;
/** A verified account whose first (known) device is Chrome on Linux in `from`. */
async function account(from: string): Promise<string> {
  const email = `risk${++counter}-${Date.now()}@example.com`;
  await client(from).auth.signUp.mutate({ email, password: PASSWORD, displayName: 'Risk' });
  await client(from).auth.verifyEmail.mutate({ email, code: await mailedCode(email, /Confirm your email/) });
  return email;
}

async function failureOf(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) return error as TRPCClientError<AppRouter>;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('risk-based sign-in', () => {
  it('lets a known device in a usual place straight in', async () => {
    const email = await account(BERLIN);
    const result = await client(BERLIN).auth.signIn.mutate({ email, password: PASSWORD });
    expect(result.status).toBe('signed_in');
  });

  it('asks a new device for a second factor, and remembers it afterwards', async () => {
    const email = await account(BERLIN);
    const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0';
    const first = await client(BERLIN, firefox).auth.signIn.mutate({ email, password: PASSWORD });
    if (first.status !== 'mfa_required') throw new Error(`expected mfa_required, got ${first.status}`);
    expect(first.methods).toEqual(['email']);
    expect(first.reasons).toEqual([
      expect.stringMatching(/^New sign-in from Firefox 140 on Windows in Berlin, Germany/),
    ]);

    const wrong = await failureOf(
      client(BERLIN, firefox).auth.completeSignIn.mutate({
        challengeId: first.challengeId,
        method: 'email',
        code: '000000',
      }),
    );
    expect(wrong.data?.appCode).toBe('VALIDATION_FAILED');
    const tokens = await client(BERLIN, firefox).auth.completeSignIn.mutate({
      challengeId: first.challengeId,
      method: 'email',
      code: await mailedCode(email, /sign-in code/),
    });
    // The challenge is spent.
    expect(
      (
        await failureOf(
          client(BERLIN, firefox).auth.completeSignIn.mutate({
            challengeId: first.challengeId,
            method: 'email',
            code: '123456',
          }),
        )
      ).data?.appCode,
    ).toBe('UNAUTHENTICATED');

    const events = await apiClient(server.url, { accessToken: tokens.accessToken }).security.events.query({
      limit: 10,
    });
    expect(events.slice(0, 5).map((e) => e.kind)).toEqual([
      'signed_in',
      'new_device',
      'mfa_used',
      'mfa_failed',
      'risk_decision',
    ]);

    expect((await client(BERLIN, firefox).auth.signIn.mutate({ email, password: PASSWORD })).status).toBe('signed_in');
  });

  it('flags impossible travel: Sydney, then Berlin minutes later', async () => {
    const email = await account(SYDNEY);
    expect((await client(SYDNEY).auth.signIn.mutate({ email, password: PASSWORD })).status).toBe('signed_in');
    const fromBerlin = await client(BERLIN).auth.signIn.mutate({ email, password: PASSWORD });
    if (fromBerlin.status !== 'mfa_required') throw new Error(`expected mfa_required, got ${fromBerlin.status}`);
    expect(fromBerlin.reasons.join(' ')).toMatch(/km\/h/);
    expect(fromBerlin.reasons.join(' ')).toMatch(/Australia/);
  });

  it('blocks a sign-in from a block-listed address, even with the right password', async () => {
    const email = await account(BERLIN);
    const blocked = await failureOf(client(BLOCKED).auth.signIn.mutate({ email, password: PASSWORD }));
    expect(blocked.data?.appCode).toBe('FORBIDDEN');
    expect(blocked.message).toMatch(/We blocked this sign-in/);
    const inRange = await failureOf(client('198.51.100.77').auth.signIn.mutate({ email, password: PASSWORD }));
    expect(inRange.data?.appCode).toBe('FORBIDDEN');
  });
});

describe('brute-force limit (ASVS 2.2.1)', () => {
  it('refuses the 101st failed attempt within the hour, also after a restart', async () => {
    const email = await account(BERLIN);
    // Spread over many addresses, as a distributed attack would be: the account limit still holds.
    for (let i = 0; i < 100; i++) {
      const failed = await failureOf(
        client(`81.169.${Math.floor(i / 200)}.${(i % 200) + 1}`).auth.signIn.mutate({
          email,
          password: `wrong guess ${i}`,
        }),
      );
      expect(failed.data?.appCode).toBe('UNAUTHENTICATED');
    }
    const limited = await failureOf(client(BERLIN).auth.signIn.mutate({ email, password: 'wrong guess 101' }));
    expect(limited.data?.appCode).toBe('RATE_LIMITED');
    expect(limited.data?.httpStatus).toBe(429);
    expect(
      Number((limited.data as { details?: { retryAfterSeconds?: number } }).details?.retryAfterSeconds),
    ).toBeGreaterThan(3000);

    // The limit is stored, not in memory: a restarted server still refuses, even the right password.
    const { dataDir } = server;
    await server.stop('restart');
    server = await startTestServer({ ...env, MEGILANCE_DATA_DIR: dataDir });
    const afterRestart = await failureOf(client(BERLIN).auth.signIn.mutate({ email, password: PASSWORD }));
    expect(afterRestart.data?.appCode).toBe('RATE_LIMITED');
  }, 60_000);
});
