/**
 * Two-step verification over real HTTP, with mail through a real SMTP server
 * on loopback. Codes are computed from the provisioned secret with otplib,
 * as an authenticator app would; where a test needs a code the server has
 * not seen yet, it takes the next step's code (the ±1 window accepts it)
 * instead of waiting 30 seconds.
 */
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'otplib';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import type { AppRouter } from '../router.ts';
import { adminResetSecondFactors } from './mfa.ts';

const PASSWORD = 'correct horse battery staple';
const BACKUP_CODE = /^[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}$/;

let smtp: TestSmtpServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer({
    MAIL_SMTP_HOST: smtp.host,
    MAIL_SMTP_PORT: String(smtp.port),
    MAIL_SMTP_SECURITY: 'none',
  });
});
afterAll(async () => {
  await server.dispose();
  await smtp.close();
});

/** The desktop app on the device the account was made on (a known device: no risk challenge). */
function client(accessToken?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${server.url}/trpc`,
        transformer: superjson,
        headers: () => ({
          'x-megilance-client': 'desktop',
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36',
          ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
        }),
      }),
    ],
  });
}

interface Refusal {
  appCode: string;
  fieldErrors: Record<string, string[]> | null;
  details: Record<string, unknown> | null;
  message: string;
}

async function refusalOf(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) {
      const data = error.data as Omit<Refusal, 'message'>;
      return { ...data, message: error.message };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** The code an authenticator app shows `steps` periods from now. */
async function totpCode(secret: string, steps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });
}

let counter = 0;
async function newUser() {
  const email = `mfa${++counter}-${Date.now()}@example.com`;
  await client().auth.signUp.mutate({ email, password: PASSWORD, displayName: `Mfa ${counter}` });
  const mail = await smtp.waitForMessage((m) => m.to.includes(email) && /Confirm your email/.test(m.subject), 5_000);
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')![1]!;
  const tokens = await client().auth.verifyEmail.mutate({ email, code });
  // This first session never proved a second factor: step-up procedures refuse it.
  return { email, tokens, api: client(tokens.accessToken) };
}

/** Sets up an authenticator with the current code (its step is then used up). */
async function enroll(user: Awaited<ReturnType<typeof newUser>>) {
  const enrollment = await user.api.mfa.totp.begin.mutate({ currentPassword: PASSWORD });
  const confirmed = await user.api.mfa.totp.confirm.mutate({ code: await totpCode(enrollment.secret) });
  return { secret: enrollment.secret, backupCodes: confirmed.backupCodes!.codes };
}

async function challenge(email: string) {
  const answer = await client().auth.signIn.mutate({ email, password: PASSWORD });
  if (answer.status !== 'mfa_required') throw new Error(`expected mfa_required, got ${answer.status}`);
  return answer;
}

describe('setting up an authenticator app', () => {
  it('needs the password, shows a QR code, and turns on only with a right code', async () => {
    const user = await newUser();
    const noPassword = await refusalOf(user.api.mfa.totp.begin.mutate({}));
    expect(noPassword.appCode).toBe('VALIDATION_FAILED');
    expect(noPassword.fieldErrors?.['currentPassword']).toEqual(['Enter your password to continue.']);
    expect((await refusalOf(user.api.mfa.totp.begin.mutate({ currentPassword: 'not my password' }))).appCode).toBe(
      'VALIDATION_FAILED',
    );

    const enrollment = await user.api.mfa.totp.begin.mutate({ currentPassword: PASSWORD });
    expect(enrollment.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(enrollment.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/MegiLance:${user.email}`);
    expect(uri.searchParams.get('secret')).toBe(enrollment.secret);
    expect(uri.searchParams.get('issuer')).toBe('MegiLance');
    expect(enrollment.qrSvg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    // Not on until confirmed.
    expect((await user.api.mfa.status.query()).totp.enabled).toBe(false);

    const valid = await Promise.all([-1, 0, 1].map((steps) => totpCode(enrollment.secret, steps)));
    const wrong = ['000000', '111111', '222222'].find((code) => !valid.includes(code))!;
    const refused = await refusalOf(user.api.mfa.totp.confirm.mutate({ code: wrong }));
    expect(refused.appCode).toBe('VALIDATION_FAILED');
    expect(refused.fieldErrors?.['code']?.[0]).toMatch(/not right/);

    const confirmed = await user.api.mfa.totp.confirm.mutate({ code: await totpCode(enrollment.secret) });
    expect(confirmed.enabled).toBe(true);
    const codes = confirmed.backupCodes!.codes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(BACKUP_CODE);

    const status = await user.api.mfa.status.query();
    expect(status).toMatchObject({
      totp: { enabled: true },
      backupCodes: { remaining: 10 },
      methods: ['totp', 'backup_code'],
      defaultMethod: 'totp',
      requiredAtEverySignIn: true,
    });
    // A second set-up cannot replace a working one.
    expect((await refusalOf(user.api.mfa.totp.begin.mutate({ currentPassword: PASSWORD }))).appCode).toBe(
      'PRECONDITION_FAILED',
    );
    await smtp.waitForMessage((m) => m.to.includes(user.email) && /Two-step verification is on/.test(m.subject), 5_000);
    const events = await user.api.security.events.query({ limit: 5 });
    expect(events.filter((e) => e.kind === 'mfa_added').map((e) => e.detail['method'])).toEqual([
      'backup_code',
      'totp',
    ]);
  });
});

describe('signing in with an authenticator app', () => {
  it('always asks for it, accepts each code once, and logs and mails a replay (ASVS 2.8.4)', async () => {
    const user = await newUser();
    const { secret } = await enroll(user);
    await user.api.auth.signOut.mutate();

    const first = await challenge(user.email);
    expect(first.methods).toEqual(['totp', 'backup_code']);
    expect(first.defaultMethod).toBe('totp');
    expect(first.reasons).toEqual([]);
    // Email is not a second factor for this account: none is mailed, none accepted.
    expect(smtp.messages.filter((m) => m.to.includes(user.email) && /sign-in code/.test(m.subject))).toEqual([]);
    expect((await refusalOf(client().auth.sendSignInCode.mutate({ challengeId: first.challengeId }))).appCode).toBe(
      'PRECONDITION_FAILED',
    );
    const byEmail = await refusalOf(
      client().auth.completeSignIn.mutate({ challengeId: first.challengeId, method: 'email', code: '123456' }),
    );
    expect(byEmail.appCode).toBe('VALIDATION_FAILED');
    expect(byEmail.details?.['reason']).toBe('not_offered');

    const code = await totpCode(secret, 1);
    const tokens = await client().auth.completeSignIn.mutate({ challengeId: first.challengeId, method: 'totp', code });
    expect(tokens.accessToken).toMatch(/^mla_/);
    expect(tokens).not.toHaveProperty('backupCodesRemaining');
    // The session proved a second factor just now: step-up procedures work.
    const signedIn = client(tokens.accessToken);
    expect(await signedIn.mfa.setDefault.mutate({ method: 'totp' })).toEqual({ defaultMethod: 'totp' });

    // The same code again, on another sign-in: refused, logged, and the owner is told.
    const second = await challenge(user.email);
    const replay = await refusalOf(
      client().auth.completeSignIn.mutate({ challengeId: second.challengeId, method: 'totp', code }),
    );
    expect(replay.appCode).toBe('VALIDATION_FAILED');
    expect(replay.details?.['reason']).toBe('replayed');
    expect(replay.fieldErrors?.['code']?.[0]).toMatch(/already used/);
    const events = await signedIn.security.events.query({ limit: 10 });
    expect(events[0]).toMatchObject({ kind: 'totp_replay_rejected', deviceLabel: 'Chrome 156 on Linux' });
    expect(events.map((e) => e.kind)).toContain('mfa_used');
    const warning = await smtp.waitForMessage(
      (m) => m.to.includes(user.email) && /old MegiLance sign-in code/.test(m.subject),
      5_000,
    );
    expect(warning.text).toMatch(/already been used/);
  });

  it('lets only one of two racing sign-ins use the same code', async () => {
    const user = await newUser();
    const { secret } = await enroll(user);
    const [a, b] = await Promise.all([challenge(user.email), challenge(user.email)]);
    const code = await totpCode(secret, 1);
    const results = await Promise.allSettled([
      client().auth.completeSignIn.mutate({ challengeId: a.challengeId, method: 'totp', code }),
      client().auth.completeSignIn.mutate({ challengeId: b.challengeId, method: 'totp', code }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('refuses wrong codes past 10 an hour, even the right one', async () => {
    const user = await newUser();
    const { secret } = await enroll(user);
    const valid = await Promise.all([-1, 0, 1].map((steps) => totpCode(secret, steps)));
    const wrong = ['000000', '111111', '222222', '333333'].find((code) => !valid.includes(code))!;
    for (let i = 0; i < 10; i++) {
      expect((await refusalOf(user.api.mfa.stepUp.mutate({ method: 'totp', code: wrong }))).appCode).toBe(
        'VALIDATION_FAILED',
      );
    }
    const limited = await refusalOf(user.api.mfa.stepUp.mutate({ method: 'totp', code: await totpCode(secret, 1) }));
    expect(limited.appCode).toBe('RATE_LIMITED');
    expect(Number(limited.details?.['retryAfterSeconds'])).toBeGreaterThan(3000);
  });
});

describe('backup codes', () => {
  it('sign in once each, say how many remain, and a used one fails', async () => {
    const user = await newUser();
    const { backupCodes } = await enroll(user);
    const first = await challenge(user.email);
    // Typed in capitals without the dash: still the same code.
    const typed = backupCodes[0]!.replace('-', '').toUpperCase();
    const tokens = await client().auth.completeSignIn.mutate({
      challengeId: first.challengeId,
      method: 'backup_code',
      code: typed,
    });
    expect(tokens.backupCodesRemaining).toBe(9);
    expect((await client(tokens.accessToken).mfa.status.query()).backupCodes.remaining).toBe(9);

    const second = await challenge(user.email);
    const reused = await refusalOf(
      client().auth.completeSignIn.mutate({
        challengeId: second.challengeId,
        method: 'backup_code',
        code: backupCodes[0]!,
      }),
    );
    expect(reused.appCode).toBe('VALIDATION_FAILED');
    expect(reused.fieldErrors?.['code']?.[0]).toMatch(/already used/);
    const badFormat = await refusalOf(
      client().auth.completeSignIn.mutate({ challengeId: second.challengeId, method: 'backup_code', code: 'nope' }),
    );
    expect(badFormat.appCode).toBe('VALIDATION_FAILED');
    expect(badFormat.fieldErrors?.['code']).toBeDefined();
  });
});

describe('step-up for changing second factors', () => {
  it('guards new backup codes, the default method and removal; stepUp refreshes the session', async () => {
    const user = await newUser();
    const { secret, backupCodes } = await enroll(user);
    for (const call of [
      user.api.mfa.backupCodes.regenerate.mutate(),
      user.api.mfa.totp.remove.mutate(),
      user.api.mfa.setDefault.mutate({ method: 'totp' }),
    ]) {
      const refused = await refusalOf(call);
      expect(refused.appCode).toBe('STEP_UP_REQUIRED');
      expect(refused.details?.['windowMinutes']).toBeGreaterThan(0);
    }

    const stepped = await user.api.mfa.stepUp.mutate({ method: 'totp', code: await totpCode(secret, 1) });
    expect(stepped.verifiedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await user.api.mfa.status.query()).sessionVerifiedAt).toEqual(stepped.verifiedAt);

    // Only a method the account has can be the default (backup codes never are); the choice shows at the next sign-in.
    expect((await refusalOf(user.api.mfa.setDefault.mutate({ method: 'sms' }))).appCode).toBe('PRECONDITION_FAILED');
    // @ts-expect-error backup codes are the fallback, not a default
    expect((await refusalOf(user.api.mfa.setDefault.mutate({ method: 'backup_code' }))).appCode).toBe(
      'VALIDATION_FAILED',
    );
    await user.api.mfa.setDefault.mutate({ method: 'totp' });
    expect((await challenge(user.email)).defaultMethod).toBe('totp');

    const fresh = await user.api.mfa.backupCodes.regenerate.mutate();
    expect(fresh.codes).toHaveLength(10);
    expect(fresh.codes.some((code) => backupCodes.includes(code))).toBe(false);
    const old = await challenge(user.email);
    expect(
      (
        await refusalOf(
          client().auth.completeSignIn.mutate({
            challengeId: old.challengeId,
            method: 'backup_code',
            code: backupCodes[1]!,
          }),
        )
      ).appCode,
    ).toBe('VALIDATION_FAILED');
    const signedIn = await client().auth.completeSignIn.mutate({
      challengeId: old.challengeId,
      method: 'backup_code',
      code: fresh.codes[0]!,
    });
    expect(signedIn.backupCodesRemaining).toBe(9);

    expect(await user.api.mfa.totp.remove.mutate()).toEqual({ removed: true });
    const status = await user.api.mfa.status.query();
    expect(status).toMatchObject({
      totp: { enabled: false },
      backupCodes: { remaining: 0 },
      methods: ['email'],
      requiredAtEverySignIn: false,
    });
    // A known device signs straight in again; the owner was told.
    expect((await client().auth.signIn.mutate({ email: user.email, password: PASSWORD })).status).toBe('signed_in');
    await smtp.waitForMessage((m) => m.to.includes(user.email) && /turned off/.test(m.subject), 5_000);
    const kinds = (await user.api.security.events.query({ limit: 50 })).map((e) => e.kind);
    expect(kinds).toContain('mfa_removed');
  });
});

describe('isolation and recovery', () => {
  it("never touches another user's second factors", async () => {
    const alice = await newUser();
    const aliceFactors = await enroll(alice);
    const bob = await newUser();

    expect((await bob.api.mfa.status.query()).totp.enabled).toBe(false);
    // Alice's code and backup codes mean nothing on Bob's account.
    expect(
      (await refusalOf(bob.api.mfa.totp.confirm.mutate({ code: await totpCode(aliceFactors.secret, 1) }))).appCode,
    ).toBe('PRECONDITION_FAILED');
    // Bob has no backup codes (his only factor is his email): Alice's code is refused.
    expect(
      (await refusalOf(bob.api.mfa.stepUp.mutate({ method: 'backup_code', code: aliceFactors.backupCodes[0]! })))
        .appCode,
    ).toBe('VALIDATION_FAILED');
    const bobFactors = await enroll(bob);
    expect(bobFactors.secret).not.toBe(aliceFactors.secret);
    expect(
      (await refusalOf(bob.api.mfa.stepUp.mutate({ method: 'backup_code', code: aliceFactors.backupCodes[0]! })))
        .appCode,
    ).toBe('VALIDATION_FAILED');
    await bob.api.mfa.stepUp.mutate({ method: 'backup_code', code: bobFactors.backupCodes[0]! });
    await bob.api.mfa.backupCodes.regenerate.mutate();
    await bob.api.mfa.totp.remove.mutate();

    const aliceStatus = await alice.api.mfa.status.query();
    expect(aliceStatus.totp.enabled).toBe(true);
    expect(aliceStatus.backupCodes.remaining).toBe(10);
    const aliceIn = await challenge(alice.email);
    const tokens = await client().auth.completeSignIn.mutate({
      challengeId: aliceIn.challengeId,
      method: 'backup_code',
      code: aliceFactors.backupCodes[0]!,
    });
    expect(tokens.backupCodesRemaining).toBe(9);
  });

  it('admin reset removes every second factor and ends every session', async () => {
    const user = await newUser();
    await enroll(user);
    const me = await user.api.auth.me.query();
    const { db, config, passwordHasher, mailer, sms, secretBox, logger } = server.deps;
    const reset = await adminResetSecondFactors(
      { db, config: config.security, hasher: passwordHasher, mailer, sms, secretBox, logger },
      me.id,
      { by: 'support:test', reason: 'lost phone and backup codes; identity checked', ip: '127.0.0.1' },
    );
    expect(reset).toEqual({
      totpRemoved: true,
      phoneRemoved: false,
      passkeysRemoved: 0,
      backupCodesRemoved: 10,
      sessionsEnded: 1,
    });
    expect((await refusalOf(user.api.auth.me.query())).appCode).toBe('UNAUTHENTICATED');
    const again = await client().auth.signIn.mutate({ email: user.email, password: PASSWORD });
    expect(again.status).toBe('signed_in');
    await smtp.waitForMessage((m) => m.to.includes(user.email) && /was reset/.test(m.subject), 5_000);
  });

  it('is what `megilance-server admin reset-2fa` does, with who and why in the log', async () => {
    const user = await newUser();
    await enroll(user);
    const cli = join(import.meta.dirname, '..', 'cli.ts');
    const env = {
      ...process.env,
      MEGILANCE_DATA_DIR: server.dataDir,
      MAIL_SMTP_HOST: smtp.host,
      MAIL_SMTP_PORT: String(smtp.port),
      MAIL_SMTP_SECURITY: 'none',
      LOG_LEVEL: 'silent',
    };
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, 'admin', 'reset-2fa', ...args], { env });
    await expect(run(user.email, '--reason', 'too short', '--by', 'Ada')).rejects.toMatchObject({ code: 64 });
    expect((await user.api.mfa.status.query()).totp.enabled).toBe(true);
    const { stdout } = await run(user.email, '--reason', 'replied from the address and named a payout', '--by', 'Ada');
    expect(stdout).toMatch(
      /authenticator app yes, phone no, passkeys\/security keys 0, backup codes 10; 1 session\(s\) ended/,
    );
    expect((await refusalOf(user.api.auth.me.query())).appCode).toBe('UNAUTHENTICATED');
    const again = await client().auth.signIn.mutate({ email: user.email, password: PASSWORD });
    if (again.status !== 'signed_in') throw new Error(again.status);
    const events = await client(again.tokens.accessToken).security.events.query({ limit: 20 });
    const reset = events.find((e) => e.kind === 'mfa_removed');
    expect(reset?.detail).toMatchObject({
      by: 'Ada (megilance-server admin)',
      reason: 'replied from the address and named a payout',
    });
  });
});
