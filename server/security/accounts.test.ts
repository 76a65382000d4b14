/**
 * Accounts end to end over real HTTP: sign-up mail through a real SMTP
 * server on loopback, sessions with rotating refresh tokens, revocation,
 * password change and reset, no user enumeration, the append-only log.
 */
import type { TRPCClientError } from '@trpc/client';
import { sql } from 'kysely';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedTokens } from '../../shared/accounts.ts';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { apiClient, mailTo, mailedCode, refusalOf } from '../../tests/support/api.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import type { AppRouter } from '../router.ts';

let smtp: TestSmtpServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer({ ...mailTo(smtp), MAIL_FROM: 'MegiLance <no-reply@megilance.test>' });
});
afterAll(async () => {
  await server.dispose();
  await smtp.close();
});

/** A desktop-style client: tokens in the body, access token as a bearer header. */
const client = (accessToken?: string, userAgent?: string) =>
  apiClient(server.url, { accessToken, ...(userAgent === undefined ? {} : { userAgent }) });
const codeMailedTo = (email: string, subject: RegExp) => mailedCode(smtp, email, subject);
const appCodeOf = refusalOf;

let counter = 0;
async function newVerifiedUser(
  password = 'correct horse battery staple',
): Promise<{ email: string; password: string; tokens: IssuedTokens }> {
  const email = `user${++counter}-${Date.now()}@example.com`;
  await client().auth.signUp.mutate({ email, password, displayName: `User ${counter}` });
  const code = await codeMailedTo(email, /Confirm your email/);
  const tokens = await client().auth.verifyEmail.mutate({ email, code });
  return { email, password, tokens };
}

describe('sign-up and sign-in', () => {
  it('signs up, mails a code, verifies the email and signs in', async () => {
    const email = `ada-${Date.now()}@example.com`;
    const answer = await client().auth.signUp.mutate({
      email,
      password: 'correct horse battery staple',
      displayName: 'Ada',
    });
    expect(answer).toEqual({ status: 'verification_sent', email });
    const code = await codeMailedTo(email, /Confirm your email/);

    expect(
      await appCodeOf(client().auth.verifyEmail.mutate({ email, code: code === '000000' ? '111111' : '000000' })),
    ).toBe('VALIDATION_FAILED');
    const tokens = await client().auth.verifyEmail.mutate({ email, code });
    expect(tokens.accessToken).toMatch(/^mla_/);
    expect(tokens.refreshToken).toMatch(/^mlr_/);
    const me = await client(tokens.accessToken).auth.me.query();
    expect(me).toMatchObject({ email, displayName: 'Ada', emailVerified: true });
    // A used code cannot be used again.
    expect(await appCodeOf(client().auth.verifyEmail.mutate({ email, code }))).toBe('VALIDATION_FAILED');

    const signedIn = await client().auth.signIn.mutate({ email, password: 'correct horse battery staple' });
    expect(signedIn.status).toBe('signed_in');
  });

  it('rejects weak passwords and bad emails field by field', async () => {
    try {
      await client().auth.signUp.mutate({ email: 'not-an-email', password: 'short', displayName: '' });
      expect.unreachable();
    } catch (error) {
      const data = (error as TRPCClientError<AppRouter>).data as { fieldErrors: Record<string, string[]> };
      expect(Object.keys(data.fieldErrors).sort()).toEqual(['displayName', 'email', 'password']);
      expect(data.fieldErrors['password']?.[0]).toBe('Use at least 12 characters.');
    }
  });

  it('does not reveal whether an email has an account', async () => {
    const { email } = await newVerifiedUser();
    const again = await client().auth.signUp.mutate({
      email,
      password: 'another long password',
      displayName: 'Mallory',
    });
    expect(again).toEqual({ status: 'verification_sent', email });
    const warning = await smtp.waitForMessage((m) => m.to.includes(email) && /tried to create/.test(m.subject), 5_000);
    expect(warning.text).not.toMatch(/\b\d{6}\b/);

    const failures = await Promise.all([
      client()
        .auth.signIn.mutate({ email, password: 'wrong password here' })
        .catch((e: unknown) => e),
      client()
        .auth.signIn.mutate({ email: `nobody-${Date.now()}@example.com`, password: 'wrong password here' })
        .catch((e: unknown) => e),
    ]);
    const [wrongPassword, unknownEmail] = failures as TRPCClientError<AppRouter>[];
    expect(wrongPassword!.message).toBe(unknownEmail!.message);
    expect(wrongPassword!.data?.httpStatus).toBe(401);
    expect(unknownEmail!.data?.httpStatus).toBe(401);
  });
});

describe('sessions', () => {
  it('rotates refresh tokens, and a reused one revokes the whole session', async () => {
    const { email, password, tokens } = await newVerifiedUser();
    const rotated = await client().auth.refresh.mutate({ refreshToken: tokens.refreshToken! });
    expect(rotated.refreshToken).not.toBe(tokens.refreshToken);
    expect((await client(rotated.accessToken).auth.me.query()).emailVerified).toBe(true);

    // The old token again: someone copied it. The session ends for everyone holding it.
    expect(await appCodeOf(client().auth.refresh.mutate({ refreshToken: tokens.refreshToken! }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await appCodeOf(client().auth.refresh.mutate({ refreshToken: rotated.refreshToken! }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await appCodeOf(client(rotated.accessToken).auth.me.query())).toBe('UNAUTHENTICATED');

    const fresh = await client().auth.signIn.mutate({ email, password });
    if (fresh.status !== 'signed_in') throw new Error('expected a session');
    const events = await client(fresh.tokens.accessToken).security.events.query({ limit: 50 });
    expect(events.map((e) => e.kind)).toContain('refresh_token_reuse');
  });

  it('lists every device and signs out another one remotely', async () => {
    const { email, password, tokens: laptop } = await newVerifiedUser();
    // A device the account has never used must prove a second factor (the mailed code).
    const safari = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15';
    const phoneSignIn = await client(undefined, safari).auth.signIn.mutate({ email, password });
    if (phoneSignIn.status !== 'mfa_required') throw new Error(`expected a second factor, got ${phoneSignIn.status}`);
    expect(phoneSignIn.reasons.join(' ')).toContain('Safari 17 on macOS');
    const code = await codeMailedTo(email, /sign-in code/);
    const phone = await client(undefined, safari).auth.completeSignIn.mutate({
      challengeId: phoneSignIn.challengeId,
      method: 'email',
      code,
    });

    const sessions = await client(laptop.accessToken).security.sessions.query();
    expect(sessions).toHaveLength(2);
    expect(sessions.find((s) => s.current)?.id).toBe(laptop.sessionId);
    expect(sessions.map((s) => s.deviceLabel).sort()).toEqual(['Chrome 156 on Linux', 'Safari 17 on macOS']);

    await client(laptop.accessToken).security.revokeSession.mutate({ sessionId: phone.sessionId });
    expect(await appCodeOf(client(phone.accessToken).auth.me.query())).toBe('UNAUTHENTICATED');
    expect(await appCodeOf(client().auth.refresh.mutate({ refreshToken: phone.refreshToken! }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await client(laptop.accessToken).security.sessions.query()).toHaveLength(1);
  });

  it("cannot revoke another user's session", async () => {
    const alice = await newVerifiedUser();
    const bob = await newVerifiedUser();
    expect(
      await appCodeOf(
        client(alice.tokens.accessToken).security.revokeSession.mutate({ sessionId: bob.tokens.sessionId }),
      ),
    ).toBe('NOT_FOUND');
    expect((await client(bob.tokens.accessToken).auth.me.query()).emailVerified).toBe(true);
  });

  it('signs out: the session ends and its refresh token is dead', async () => {
    const { tokens } = await newVerifiedUser();
    await client(tokens.accessToken).auth.signOut.mutate();
    expect(await appCodeOf(client(tokens.accessToken).auth.me.query())).toBe('UNAUTHENTICATED');
    expect(await appCodeOf(client().auth.refresh.mutate({ refreshToken: tokens.refreshToken! }))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('gives browsers the refresh token only as an httpOnly, Secure, SameSite cookie', async () => {
    const { email, password } = await newVerifiedUser();
    const response = await fetch(`${server.url}/trpc/auth.signIn`, {
      method: 'POST',
      // The same browser that signed up: a known device, so no second factor.
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36',
      },
      body: JSON.stringify(superjson.serialize({ email, password })),
    });
    expect(response.status).toBe(200);
    const body = JSON.stringify(await response.json());
    expect(body).not.toContain('mlr_');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^megilance_refresh=mlr_/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/trpc/i);

    const refreshed = await fetch(`${server.url}/trpc/auth.refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookie.split(';')[0]! },
      body: JSON.stringify(superjson.serialize({})),
    });
    expect(refreshed.status).toBe(200);
    const rotated = refreshed.headers.get('set-cookie') ?? '';
    expect(rotated).toMatch(/^megilance_refresh=mlr_/);

    // A script in the page claiming to be the desktop app still gets the cookie's token only as a cookie.
    const claimed = await fetch(`${server.url}/trpc/auth.refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-megilance-client': 'desktop', cookie: rotated.split(';')[0]! },
      body: JSON.stringify(superjson.serialize({})),
    });
    expect(claimed.status).toBe(200);
    expect(JSON.stringify(await claimed.json())).not.toContain('mlr_');
    expect(claimed.headers.get('set-cookie')).toMatch(/^megilance_refresh=mlr_/);
  });
});

describe('passwords', () => {
  it('changes the password and signs out every other session', async () => {
    const { email, password, tokens } = await newVerifiedUser();
    const other = await client().auth.signIn.mutate({ email, password });
    if (other.status !== 'signed_in') throw new Error('expected a session');

    expect(
      await appCodeOf(
        client(tokens.accessToken).auth.changePassword.mutate({
          currentPassword: 'not it at all',
          newPassword: 'a brand new passphrase',
        }),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(
      await client(tokens.accessToken).auth.changePassword.mutate({
        currentPassword: password,
        newPassword: 'a brand new passphrase',
      }),
    ).toEqual({ otherSessionsSignedOut: 1 });
    expect(await appCodeOf(client(other.tokens.accessToken).auth.me.query())).toBe('UNAUTHENTICATED');
    expect((await client().auth.signIn.mutate({ email, password: 'a brand new passphrase' })).status).toBe('signed_in');
    expect(await appCodeOf(client().auth.signIn.mutate({ email, password }))).toBe('UNAUTHENTICATED');
  });

  it('resets a forgotten password with a mailed code, ending every session', async () => {
    const { email, tokens } = await newVerifiedUser();
    expect(await client().auth.requestPasswordReset.mutate({ email })).toEqual({ status: 'sent_if_account_exists' });
    expect(await client().auth.requestPasswordReset.mutate({ email: `ghost-${Date.now()}@example.com` })).toEqual({
      status: 'sent_if_account_exists',
    });
    const code = await codeMailedTo(email, /Reset your MegiLance password/);
    await client().auth.resetPassword.mutate({ email, code, newPassword: 'recovered passphrase 42' });
    expect(await appCodeOf(client(tokens.accessToken).auth.me.query())).toBe('UNAUTHENTICATED');
    expect((await client().auth.signIn.mutate({ email, password: 'recovered passphrase 42' })).status).toBe(
      'signed_in',
    );
    expect(
      await appCodeOf(client().auth.resetPassword.mutate({ email, code, newPassword: 'third passphrase here' })),
    ).toBe('VALIDATION_FAILED');
  });
});

describe('re-entering the password while signed in', () => {
  it('limits wrong current passwords, so a stolen session cannot guess the password', async () => {
    const { password, tokens } = await newVerifiedUser();
    const api = client(tokens.accessToken);
    for (let i = 0; i < 10; i++) {
      expect(
        await appCodeOf(
          api.auth.changePassword.mutate({ currentPassword: `guess number ${i}`, newPassword: 'new long password!' }),
        ),
      ).toBe('VALIDATION_FAILED');
    }
    // The 11th try within the hour is refused, even with the right password; the log shows the guesses.
    expect(
      await appCodeOf(api.auth.changePassword.mutate({ currentPassword: password, newPassword: 'new long password!' })),
    ).toBe('RATE_LIMITED');
    expect(await appCodeOf(api.mfa.totp.begin.mutate({ currentPassword: password }))).toBe('RATE_LIMITED');
    const kinds = (await api.security.events.query({ limit: 20 })).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'password_check_failed')).toHaveLength(10);
  });
});

describe('security log', () => {
  it('shows users their own events and cannot be edited or deleted', async () => {
    const { tokens } = await newVerifiedUser();
    const events = await client(tokens.accessToken).security.events.query({ limit: 10 });
    expect(events.map((e) => e.kind)).toEqual(['signed_in', 'email_verified', 'account_created']);
    expect(events[0]?.deviceLabel).toBe('Chrome 156 on Linux');
    await expect(sql`update security_events set kind = 'tampered'`.execute(server.deps.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from security_events`.execute(server.deps.db)).rejects.toThrow(/append-only/);
  });
});

describe('open WebSockets of ended sessions', () => {
  it('closes a signed-out device’s socket at once', async () => {
    const { email, password, tokens: laptop } = await newVerifiedUser();
    const safari = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15';
    const challenge = await client(undefined, safari).auth.signIn.mutate({ email, password });
    if (challenge.status !== 'mfa_required') throw new Error('expected a second factor');
    const phone = await client(undefined, safari).auth.completeSignIn.mutate({
      challengeId: challenge.challengeId,
      method: 'email',
      code: await codeMailedTo(email, /sign-in code/),
    });

    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/trpc?connectionParams=1`);
      socket.addEventListener('open', () =>
        socket.send(JSON.stringify({ method: 'connectionParams', data: { accessToken: phone.accessToken } })),
      );
      socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason }));
    });
    // Wait until the server has authenticated the socket, then sign the phone out from the laptop.
    await expect.poll(() => server.deps.liveSockets.sessionIds().includes(phone.sessionId)).toBe(true);
    await client(laptop.accessToken).security.revokeSession.mutate({ sessionId: phone.sessionId });
    expect(await closed).toEqual({ code: 4401, reason: 'Signed out from another device' });
  });

  it('closes sockets of sessions that ended elsewhere on the next sweep', async () => {
    const { tokens } = await newVerifiedUser();
    const closed = new Promise<number>((resolve) => {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/trpc?connectionParams=1`);
      socket.addEventListener('open', () =>
        socket.send(JSON.stringify({ method: 'connectionParams', data: { accessToken: tokens.accessToken } })),
      );
      socket.addEventListener('close', (event) => resolve(event.code));
    });
    await expect.poll(() => server.deps.liveSockets.sessionIds().includes(tokens.sessionId)).toBe(true);
    // Revoked straight in the database, as another API node would.
    await server.deps.db
      .updateTable('sessions')
      .set({ revoked_at: Date.now() })
      .where('id', '=', tokens.sessionId)
      .execute();
    expect(await server.deps.liveSockets.sweep(server.deps.db, server.deps.config.security)).toBe(1);
    expect(await closed).toBe(4401);
  });
});
