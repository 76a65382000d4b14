/**
 * Authorization, table-driven: every procedure of the API is listed here with
 * who may call it. The test fails when a procedure is added without a row,
 * so this table grows with the API. Each protected procedure is called
 * anonymously (refused), and every procedure that touches a user's data is
 * called as another user (refused, or answers with nothing of the first).
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../server/router.ts';
import { apiClient, mailTo, mailedCode, refusalOf } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

type Client = ReturnType<typeof clientFor>;

interface Person {
  email: string;
  password: string;
  accessToken: string;
  sessionId: string;
  client: Client;
}

interface Row {
  /** Who may call it at all. */
  access: 'public' | 'authed' | 'stepUp' | 'admin';
  /** Calls the procedure with a valid input as `client`. */
  call: (client: Client, people: { alice: Person; bob: Person }) => Promise<unknown>;
  /** For procedures on a user's data: Bob acting on Alice must be refused or see nothing of hers. */
  asOtherUser?: (people: { alice: Person; bob: Person }) => Promise<void>;
}

// Well-formed but meaningless WebAuthn answers: enough to reach the authorization checks.
const fakeRegistration = {
  id: 'bm8tc3VjaC1rZXk',
  rawId: 'bm8tc3VjaC1rZXk',
  type: 'public-key' as const,
  clientExtensionResults: {},
  response: { clientDataJSON: 'e30', attestationObject: 'oA' },
};
const fakeAssertion = {
  id: 'bm8tc3VjaC1rZXk',
  rawId: 'bm8tc3VjaC1rZXk',
  type: 'public-key' as const,
  clientExtensionResults: {},
  response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
};

const table: Record<string, Row> = {
  'system.info': { access: 'public', call: (c) => c.system.info.query() },
  'system.status': { access: 'public', call: () => Promise.resolve('subscription: covered by server/main.test.ts') },
  'auth.signUp': {
    access: 'public',
    call: (c) =>
      c.auth.signUp.mutate({ email: `x${Date.now()}@example.com`, password: 'long enough password', displayName: 'X' }),
  },
  'auth.resendVerification': {
    access: 'public',
    call: (c) => c.auth.resendVerification.mutate({ email: 'nobody@example.com' }),
  },
  'auth.verifyEmail': {
    access: 'public',
    call: (c) => c.auth.verifyEmail.mutate({ email: 'nobody@example.com', code: '123456' }),
  },
  'auth.signIn': {
    access: 'public',
    call: (c) => c.auth.signIn.mutate({ email: 'nobody@example.com', password: 'whatever password' }),
  },
  'auth.completeSignIn': {
    access: 'public',
    call: (c) => c.auth.completeSignIn.mutate({ challengeId: 'none', method: 'email', code: '123456' }),
  },
  'auth.sendSignInCode': { access: 'public', call: (c) => c.auth.sendSignInCode.mutate({ challengeId: 'none' }) },
  'auth.refresh': { access: 'public', call: (c) => c.auth.refresh.mutate({ refreshToken: 'mlr_nothing' }) },
  'auth.requestPasswordReset': {
    access: 'public',
    call: (c) => c.auth.requestPasswordReset.mutate({ email: 'nobody@example.com' }),
  },
  'auth.resetPassword': {
    access: 'public',
    call: (c) =>
      c.auth.resetPassword.mutate({
        email: 'nobody@example.com',
        code: '123456',
        newPassword: 'another long password',
      }),
  },
  'auth.signOut': { access: 'authed', call: (c) => c.auth.signOut.mutate() },
  'auth.me': {
    access: 'authed',
    call: (c) => c.auth.me.query(),
    asOtherUser: async ({ alice, bob }) => {
      expect((await bob.client.auth.me.query()).email).toBe(bob.email);
      expect((await alice.client.auth.me.query()).email).toBe(alice.email);
    },
  },
  'auth.changePassword': {
    access: 'authed',
    call: (c) =>
      c.auth.changePassword.mutate({ currentPassword: 'wrong current one', newPassword: 'a new long password' }),
    asOtherUser: async ({ alice, bob }) => {
      // Bob knows Alice's password: it is still Bob's account that would change, and his check fails.
      const failure = await refusal(
        bob.client.auth.changePassword.mutate({ currentPassword: alice.password, newPassword: 'hijacked password!' }),
      );
      expect(failure).toBe('VALIDATION_FAILED');
    },
  },
  'security.sessions': {
    access: 'authed',
    call: (c) => c.security.sessions.query(),
    asOtherUser: async ({ alice, bob }) => {
      const ids = (await bob.client.security.sessions.query()).map((s) => s.id);
      expect(ids).toContain(bob.sessionId);
      expect(ids).not.toContain(alice.sessionId);
    },
  },
  'security.revokeSession': {
    access: 'authed',
    call: (c) => c.security.revokeSession.mutate({ sessionId: 'no-such-session' }),
    asOtherUser: async ({ alice, bob }) => {
      expect(await refusal(bob.client.security.revokeSession.mutate({ sessionId: alice.sessionId }))).toBe('NOT_FOUND');
      expect((await alice.client.auth.me.query()).email).toBe(alice.email);
    },
  },
  'security.revokeOtherSessions': {
    access: 'authed',
    call: (c) => c.security.revokeOtherSessions.mutate(),
    asOtherUser: async ({ alice, bob }) => {
      await bob.client.security.revokeOtherSessions.mutate();
      expect((await alice.client.auth.me.query()).email).toBe(alice.email);
    },
  },
  'security.events': {
    access: 'authed',
    call: (c) => c.security.events.query({ limit: 5 }),
    asOtherUser: async ({ alice, bob }) => {
      const bobsEvents = await bob.client.security.events.query({ limit: 200 });
      expect(bobsEvents.length).toBeGreaterThan(0);
      expect(bobsEvents.some((e) => e.sessionId === alice.sessionId)).toBe(false);
    },
  },
  'admin.exportSecurityEvents': {
    access: 'admin',
    call: (c) => c.admin.exportSecurityEvents.mutate({ format: 'json' }),
  },
  'mfa.status': {
    access: 'authed',
    call: (c) => c.mfa.status.query(),
  },
  'mfa.totp.begin': {
    access: 'authed',
    call: (c, { bob }) => c.mfa.totp.begin.mutate({ currentPassword: bob.password }),
    asOtherUser: async ({ alice, bob }) => {
      // Each set-up is the caller's own: a code from Alice's secret does not turn on Bob's, and hers stays off.
      const hers = await alice.client.mfa.totp.begin.mutate({ currentPassword: alice.password });
      const his = await bob.client.mfa.totp.begin.mutate({ currentPassword: bob.password });
      expect(his.secret).not.toBe(hers.secret);
      const code = await generate({ secret: hers.secret });
      expect(await refusal(bob.client.mfa.totp.confirm.mutate({ code }))).toBe('VALIDATION_FAILED');
      expect((await alice.client.mfa.status.query()).totp.enabled).toBe(false);
      expect((await bob.client.mfa.status.query()).totp.enabled).toBe(false);
    },
  },
  'mfa.totp.confirm': { access: 'authed', call: (c) => c.mfa.totp.confirm.mutate({ code: '123456' }) },
  'mfa.totp.remove': { access: 'stepUp', call: (c) => c.mfa.totp.remove.mutate() },
  'mfa.sms.begin': {
    access: 'authed',
    call: (c, { bob }) => c.mfa.sms.begin.mutate({ phone: '+44 7700 900456', currentPassword: bob.password }),
  },
  'mfa.sms.confirm': { access: 'authed', call: (c) => c.mfa.sms.confirm.mutate({ code: '123456' }) },
  'mfa.sms.remove': { access: 'stepUp', call: (c) => c.mfa.sms.remove.mutate() },
  'mfa.backupCodes.regenerate': { access: 'stepUp', call: (c) => c.mfa.backupCodes.regenerate.mutate() },
  'mfa.setDefault': { access: 'stepUp', call: (c) => c.mfa.setDefault.mutate({ method: 'totp' }) },
  'passkeys.registrationOptions': {
    access: 'authed',
    call: (c) => c.passkeys.registrationOptions.mutate({ kind: 'passkey' }),
  },
  'passkeys.register': {
    access: 'authed',
    call: (c) => c.passkeys.register.mutate({ challengeId: 'none', response: fakeRegistration }),
    asOtherUser: async ({ alice, bob }) => {
      // Alice's registration challenge is hers: Bob cannot complete it.
      const { challengeId } = await alice.client.passkeys.registrationOptions.mutate({ kind: 'passkey' });
      expect(await refusal(bob.client.passkeys.register.mutate({ challengeId, response: fakeRegistration }))).toBe(
        'PRECONDITION_FAILED',
      );
    },
  },
  'passkeys.list': {
    access: 'authed',
    call: (c) => c.passkeys.list.query(),
    asOtherUser: async ({ bob }) => {
      expect(await bob.client.passkeys.list.query()).toEqual([]);
    },
  },
  'passkeys.rename': {
    access: 'authed',
    call: (c) => c.passkeys.rename.mutate({ id: 'bm8tc3VjaC1rZXk', name: 'Laptop' }),
  },
  'passkeys.remove': { access: 'stepUp', call: (c) => c.passkeys.remove.mutate({ id: 'bm8tc3VjaC1rZXk' }) },
  'passkeys.signInOptions': { access: 'public', call: (c) => c.passkeys.signInOptions.mutate() },
  'passkeys.signIn': {
    access: 'public',
    call: (c) => c.passkeys.signIn.mutate({ challengeId: 'none', response: fakeAssertion }),
  },
  'passkeys.secondStepOptions': {
    access: 'public',
    call: (c) => c.passkeys.secondStepOptions.mutate({ challengeId: 'none' }),
  },
  'passkeys.completeSignIn': {
    access: 'public',
    call: (c) =>
      c.passkeys.completeSignIn.mutate({ challengeId: 'none', passkeyChallengeId: 'none', response: fakeAssertion }),
  },
  'passkeys.stepUpOptions': { access: 'authed', call: (c) => c.passkeys.stepUpOptions.mutate() },
  'passkeys.stepUp': {
    access: 'authed',
    call: (c) => c.passkeys.stepUp.mutate({ challengeId: 'none', response: fakeAssertion }),
  },
  'mfa.sendStepUpCode': { access: 'authed', call: (c) => c.mfa.sendStepUpCode.mutate() },
  'mfa.stepUp': {
    access: 'authed',
    call: (c) => c.mfa.stepUp.mutate({ method: 'backup_code', code: 'abcd-2345' }),
  },
};

let smtp: TestSmtpServer;
let server: TestServer;
let alice: Person;
let bob: Person;

const clientFor = (accessToken?: string) => apiClient(server.url, { accessToken });
const refusal = refusalOf;

async function person(name: string): Promise<Person> {
  const email = `${name}-${Date.now()}@example.com`;
  const password = `${name} has a long password`;
  await clientFor().auth.signUp.mutate({ email, password, displayName: name });
  const code = await mailedCode(smtp, email, /Confirm your email/);
  const tokens = await clientFor().auth.verifyEmail.mutate({ email, code });
  return {
    email,
    password,
    accessToken: tokens.accessToken,
    sessionId: tokens.sessionId,
    client: clientFor(tokens.accessToken),
  };
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer(mailTo(smtp));
  alice = await person('alice');
  bob = await person('bob');
});
afterAll(async () => {
  await server.dispose();
  await smtp.close();
});

const procedures = Object.keys(appRouter._def.procedures).sort();

describe('authorization table', () => {
  it('lists every procedure of the API, and only those', () => {
    expect(Object.keys(table).sort()).toEqual(procedures);
  });

  const protectedRows = Object.entries(table).filter(([, row]) => row.access !== 'public');
  it.each(protectedRows)('%s refuses anonymous callers', async (_path, row) => {
    expect(await refusal(row.call(clientFor(), { alice, bob }))).toBe('UNAUTHENTICATED');
  });

  it.each(protectedRows)('%s refuses a revoked or made-up token', async (_path, row) => {
    expect(await refusal(row.call(clientFor('mla_made-up-token'), { alice, bob }))).toBe('UNAUTHENTICATED');
  });

  const stepUpRows = Object.entries(table).filter(([, row]) => row.access === 'stepUp');
  it('step-up procedures refuse a session without a fresh second factor', async (ctx) => {
    if (stepUpRows.length === 0) return ctx.skip('no procedure requires step-up yet');
    for (const [, row] of stepUpRows)
      expect(await refusal(row.call(bob.client, { alice, bob }))).toBe('STEP_UP_REQUIRED');
  });

  const adminRows = Object.entries(table).filter(([, row]) => row.access === 'admin');
  it.each(adminRows)('%s refuses members', async (_path, row) => {
    expect(await refusal(row.call(bob.client, { alice, bob }))).toBe('FORBIDDEN');
  });

  const ownedRows = Object.entries(table).filter(([, row]) => row.asOtherUser !== undefined);
  it.each(ownedRows)("%s never reaches another user's data", async (_path, row) => {
    await row.asOtherUser!({ alice, bob });
  });
});
