import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { apiClient, mailTo, mailedCode, refusalOf } from '../../tests/support/api.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import { toCsv } from '../security/event-export.ts';

let smtp: TestSmtpServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer(mailTo(smtp));
});
afterAll(async () => {
  await server.dispose();
  await smtp.close();
});

const client = (userAgent: string, accessToken?: string) => apiClient(server.url, { userAgent, accessToken });
const LAPTOP = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36';
const OTHER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0';

const code = (email: string, subject: RegExp) => mailedCode(smtp, email, subject);

async function signUp(name: string) {
  const email = `${name}-${Date.now()}@example.com`;
  const password = `${name}'s long password`;
  await client(LAPTOP).auth.signUp.mutate({ email, password, displayName: name });
  const tokens = await client(LAPTOP).auth.verifyEmail.mutate({ email, code: await code(email, /Confirm/) });
  return { email, password, tokens };
}

const appCode = refusalOf;

describe('security log export', () => {
  it('is for administrators with a fresh second factor, and is itself audited', async () => {
    const admin = await signUp('admin');
    const bob = await signUp('bob');
    expect(
      await appCode(client(LAPTOP, bob.tokens.accessToken).admin.exportSecurityEvents.mutate({ format: 'json' })),
    ).toBe('FORBIDDEN');

    const cli = spawnSync(process.execPath, ['server/cli.ts', 'admin', 'grant', admin.email], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { PATH: process.env['PATH'], MEGILANCE_DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' },
      encoding: 'utf8',
    });
    expect(cli.stdout).toContain('is now an administrator');

    // An admin session without a recent second factor must step up first.
    expect(
      await appCode(client(LAPTOP, admin.tokens.accessToken).admin.exportSecurityEvents.mutate({ format: 'json' })),
    ).toBe('STEP_UP_REQUIRED');
    const challenge = await client(OTHER).auth.signIn.mutate({ email: admin.email, password: admin.password });
    if (challenge.status !== 'mfa_required') throw new Error(`expected a second factor, got ${challenge.status}`);
    const fresh = await client(OTHER).auth.completeSignIn.mutate({
      challengeId: challenge.challengeId,
      method: 'email',
      code: await code(admin.email, /sign-in code/),
    });

    const asAdmin = client(OTHER, fresh.accessToken).admin.exportSecurityEvents;
    const csv = await asAdmin.mutate({ format: 'csv', userEmail: bob.email });
    expect(csv.contentType).toBe('text/csv');
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,at,kind,userId,userEmail,ip,deviceLabel,sessionId,detail');
    expect(lines.slice(1).map((line) => line.split(',')[2])).toEqual([
      'account_created',
      'email_verified',
      'signed_in',
    ]);
    expect(lines.slice(1).every((line) => line.includes(bob.email))).toBe(true);

    const json = JSON.parse((await asAdmin.mutate({ format: 'json', kinds: ['role_changed'] })).body) as {
      userEmail: string;
    }[];
    expect(json.map((e) => e.userEmail)).toEqual([admin.email]);

    const own = await client(OTHER, fresh.accessToken).security.events.query({ limit: 5 });
    expect(own[0]?.kind).toBe('security_log_exported');
  });

  it('neutralises spreadsheet formulas and quotes CSV cells', () => {
    const csv = toCsv([
      {
        id: 1,
        at: '2026-01-01T00:00:00.000Z',
        kind: 'signed_in',
        userId: 'u',
        userEmail: 'a@b.c',
        ip: '1.2.3.4',
        deviceLabel: '=HYPERLINK("http://evil")',
        sessionId: null,
        detail: { note: 'a, "b"' },
      },
    ]);
    const row = csv.split('\r\n')[1]!;
    expect(row).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(row).toContain('"{""note"":""a, \\""b\\""""}"');
  });
});

describe('step-up by email', () => {
  it('lets an account without an authenticator app confirm with a mailed code', async () => {
    const carol = await signUp('carol');
    const asCarol = client(LAPTOP, carol.tokens.accessToken);
    expect(await appCode(asCarol.mfa.stepUp.mutate({ method: 'email', code: '000000' }))).toBe('VALIDATION_FAILED');
    await asCarol.mfa.sendStepUpCode.mutate();
    const confirmed = await asCarol.mfa.stepUp.mutate({
      method: 'email',
      code: await code(carol.email, /confirmation code/),
    });
    expect(confirmed.windowMinutes).toBe(10);
    expect((await asCarol.mfa.status.query()).sessionVerifiedAt).not.toBeNull();
    // A sign-in code is not a step-up code, and the step-up code is spent.
    expect(await appCode(asCarol.mfa.stepUp.mutate({ method: 'email', code: '123456' }))).toBe('VALIDATION_FAILED');
  });
});
