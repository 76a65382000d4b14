/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * Passkeys end to end in real Chromium: Chrome's virtual authenticators
 * (DevTools Protocol `WebAuthn` domain) answer @simplewebauthn/browser's
 * ceremonies in a page served by a real server at http://localhost:<port>
 * (WebAuthn needs a host name for the RP ID, not 127.0.0.1). The page calls
 * the API with fetch, as the web app does; accounts are created in Node
 * through the tRPC client, with codes read from a real SMTP server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as WebAuthnBrowser from '@simplewebauthn/browser';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import superjson, { type SuperJSONResult } from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedTokens } from '../../shared/accounts.ts';
import type { PasskeyView } from '../../shared/passkeys.ts';
import type { AppRouter } from '../../server/router.ts';
import type { PasskeyTables } from '../../server/security/passkeys.ts';
import { chromiumUnavailableReason, launchChromium } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

const BROWSER_BUNDLE = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '@simplewebauthn',
  'browser',
  'dist',
  'bundle',
  'index.umd.min.js',
);

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

let smtp: TestSmtpServer;
let server: TestServer;
let rendererDir: string;
let browser: Browser;
let context: BrowserContext;
let origin: string;

beforeAll(async () => {
  if (skipReason !== null) return;
  smtp = await startTestSmtpServer();
  // No renderer: `/` is the server's own placeholder page, so no app code runs beside the test's.
  rendererDir = mkdtempSync(join(tmpdir(), 'megilance-no-renderer-'));
  server = await startTestServer({
    MAIL_SMTP_HOST: smtp.host,
    MAIL_SMTP_PORT: String(smtp.port),
    MAIL_SMTP_SECURITY: 'none',
    MEGILANCE_RENDERER_DIR: rendererDir,
    // The widest window, so no step-up lapses however slow the machine.
    STEP_UP_WINDOW_MINUTES: '60',
  });
  origin = server.deps.publicOrigin();
  browser = await launchChromium();
  // The server's CSP allows only its own scripts; the test injects the WebAuthn browser library inline.
  context = await browser.newContext({ bypassCSP: true });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.dispose();
  await smtp?.close();
  if (rendererDir !== undefined) rmSync(rendererDir, { recursive: true, force: true });
});

/** A desktop-style Node client: tokens in the body, access token as a bearer header. */
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

let userCount = 0;
async function newVerifiedUser(): Promise<{ id: string; email: string; tokens: IssuedTokens }> {
  const email = `passkey${++userCount}-${Date.now()}@example.com`;
  await client().auth.signUp.mutate({ email, password: 'correct horse battery staple', displayName: 'Pat Key' });
  const mail = await smtp.waitForMessage((m) => m.to.includes(email) && /Confirm your email/.test(m.subject), 5_000);
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
  if (code === undefined) throw new Error(`no code in "${mail.subject}"`);
  const tokens = await client().auth.verifyEmail.mutate({ email, code });
  const me = await client(tokens.accessToken).auth.me.query();
  return { id: me.id, email, tokens };
}

/** A browser tab on the server's origin with its own virtual authenticator and the WebAuthn library loaded. */
interface Tab {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

async function openTab(authenticator: 'platform' | 'security_key'): Promise<Tab> {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.addScriptTag({ path: BROWSER_BUNDLE });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options:
      authenticator === 'platform'
        ? {
            protocol: 'ctap2',
            ctap2Version: 'ctap2_1',
            transport: 'internal',
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
            automaticPresenceSimulation: true,
          }
        : // A plain hardware key: no resident credentials, no PIN.
          {
            protocol: 'ctap2',
            ctap2Version: 'ctap2_1',
            transport: 'usb',
            hasResidentKey: false,
            hasUserVerification: false,
            automaticPresenceSimulation: true,
          },
  });
  return { page, cdp, authenticatorId };
}

type Answer<T> =
  { ok: true; data: T } | { ok: false; appCode: string; message: string; details: Record<string, unknown> | null };

/** tRPC over HTTP from the page, as the web app calls it (superjson envelopes, cookies of the origin). */
async function api<T>(
  page: Page,
  path: string,
  input?: unknown,
  options: { token?: string; method?: 'query' | 'mutation' } = {},
): Promise<Answer<T>> {
  const raw = await page.evaluate(
    async ({ path, input, token, method }) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      const envelope = JSON.stringify({ json: input });
      const response =
        method === 'query'
          ? await fetch(`/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(envelope)}`}`, {
              headers,
            })
          : await fetch(`/trpc/${path}`, { method: 'POST', headers, body: envelope });
      return (await response.json()) as unknown;
    },
    { path, input, token: options.token ?? null, method: options.method ?? 'mutation' },
  );
  const answer = raw as {
    result?: { data: SuperJSONResult };
    error?: { json: { message: string; data: { appCode: string; details: Record<string, unknown> | null } } };
  };
  if (answer.result !== undefined) return { ok: true, data: superjson.deserialize<T>(answer.result.data) };
  if (answer.error === undefined) throw new Error(`not a tRPC answer: ${JSON.stringify(raw)}`);
  const { message, data } = answer.error.json;
  return { ok: false, appCode: data.appCode, message, details: data.details };
}

function ok<T>(answer: Answer<T>): T {
  if (!answer.ok) throw new Error(`expected success, got ${answer.appCode}: ${answer.message}`);
  return answer.data;
}

type WithLibrary = { SimpleWebAuthnBrowser: typeof WebAuthnBrowser };

interface Ceremony<O> {
  challengeId: string;
  options: O;
}

async function createCredential(tab: Tab, optionsJSON: unknown): Promise<unknown> {
  return tab.page.evaluate(
    (optionsJSON) =>
      (window as unknown as WithLibrary).SimpleWebAuthnBrowser.startRegistration({
        optionsJSON: optionsJSON as WebAuthnBrowser.PublicKeyCredentialCreationOptionsJSON,
      }),
    optionsJSON,
  );
}

async function getAssertion(tab: Tab, optionsJSON: unknown): Promise<unknown> {
  return tab.page.evaluate(
    (optionsJSON) =>
      (window as unknown as WithLibrary).SimpleWebAuthnBrowser.startAuthentication({
        optionsJSON: optionsJSON as WebAuthnBrowser.PublicKeyCredentialRequestOptionsJSON,
      }),
    optionsJSON,
  );
}

/** registrationOptions → the authenticator creates a credential → register. */
async function registerIn(tab: Tab, token: string, kind: 'passkey' | 'security_key', name: string) {
  const ceremony = ok(
    await api<Ceremony<{ rp: { id: string } }>>(tab.page, 'passkeys.registrationOptions', { kind }, { token }),
  );
  expect(ceremony.options.rp.id).toBe('localhost');
  const response = await createCredential(tab, ceremony.options);
  return api<PasskeyView>(
    tab.page,
    'passkeys.register',
    { challengeId: ceremony.challengeId, response, name },
    { token },
  );
}

/** signInOptions → the authenticator picks its discoverable credential → signIn; no email, no password. */
async function passwordlessSignIn(tab: Tab) {
  const ceremony = ok(await api<Ceremony<{ allowCredentials?: unknown[] }>>(tab.page, 'passkeys.signInOptions'));
  expect(ceremony.options.allowCredentials ?? []).toEqual([]);
  const response = await getAssertion(tab, ceremony.options);
  const input = { challengeId: ceremony.challengeId, response };
  return { input, answer: await api<IssuedTokens>(tab.page, 'passkeys.signIn', input) };
}

const db = () => server.deps.db.$extendTables<PasskeyTables>();

async function storedCounter(credentialId: string): Promise<number> {
  const row = await db()
    .selectFrom('webauthn_credentials')
    .select('counter')
    .where('id', '=', credentialId)
    .executeTakeFirstOrThrow();
  return row.counter;
}

/** The signature counter the virtual authenticator holds for the credential. */
async function authenticatorCount(tab: Tab, credentialId: string): Promise<number> {
  const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', { authenticatorId: tab.authenticatorId });
  const credential = credentials.find(
    (c) => Buffer.from(c.credentialId, 'base64').toString('base64url') === credentialId,
  );
  if (credential === undefined) throw new Error('the authenticator does not hold that credential');
  return credential.signCount;
}

// One account's story, step by step: later steps use what earlier ones set up.
let alice: Awaited<ReturnType<typeof newVerifiedUser>>;
let laptop: Tab;
let passkey: PasskeyView;
let passkeySession: IssuedTokens;
let spentSignIn: { challengeId: string; response: unknown };

describe('passkeys in Chromium', () => {
  it('registers a passkey through a virtual authenticator and signs in with it, passwordless', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    expect(origin).toMatch(/^http:\/\/localhost:\d+$/);
    alice = await newVerifiedUser();
    laptop = await openTab('platform');

    passkey = ok(await registerIn(laptop, alice.tokens.accessToken, 'passkey', 'Laptop'));
    expect(passkey).toMatchObject({ name: 'Laptop', kind: 'passkey', lastUsedAt: null, transports: ['internal'] });
    const registeredCount = await storedCounter(passkey.id);
    expect(registeredCount).toBe(await authenticatorCount(laptop, passkey.id));

    const { input, answer } = await passwordlessSignIn(laptop);
    spentSignIn = input;
    passkeySession = ok(answer);
    // A browser gets the refresh token only as the httpOnly cookie.
    expect(passkeySession.refreshToken).toBeNull();
    expect(passkeySession.accessToken).toMatch(/^mla_/);
    const me = await client(passkeySession.accessToken).auth.me.query();
    expect(me).toMatchObject({ id: alice.id, email: alice.email });

    // The counter was checked, stored, and went up with the sign-in.
    const signedInCount = await storedCounter(passkey.id);
    expect(signedInCount).toBeGreaterThan(registeredCount);
    expect(signedInCount).toBe(await authenticatorCount(laptop, passkey.id));

    // The session proved both factors; the refresh cookie works from the page.
    const session = await server.deps.db
      .selectFrom('sessions')
      .select(['user_id', 'mfa_verified_at'])
      .where('id', '=', passkeySession.sessionId)
      .executeTakeFirstOrThrow();
    expect(session.user_id).toBe(alice.id);
    expect(session.mfa_verified_at).not.toBeNull();
    const refreshed = ok(await api<IssuedTokens>(laptop.page, 'auth.refresh', {}));
    expect(refreshed).toMatchObject({ sessionId: passkeySession.sessionId, refreshToken: null });
    passkeySession = refreshed;

    const events = await client(passkeySession.accessToken).security.events.query({ limit: 10 });
    expect(events.find((e) => e.kind === 'signed_in')?.detail).toMatchObject({ method: 'passkey' });
    expect(events.find((e) => e.kind === 'mfa_added')?.detail).toMatchObject({ method: 'passkey', name: 'Laptop' });

    const [listed] = ok(
      await api<PasskeyView[]>(laptop.page, 'passkeys.list', undefined, {
        token: passkeySession.accessToken,
        method: 'query',
      }),
    );
    expect(listed).toMatchObject({ id: passkey.id, name: 'Laptop', kind: 'passkey' });
    expect(listed?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('refuses a spent or an expired challenge', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const replay = await api(laptop.page, 'passkeys.signIn', spentSignIn);
    expect(replay).toMatchObject({ ok: false, appCode: 'UNAUTHENTICATED', details: { reason: 'challenge_expired' } });

    const ceremony = ok(await api<Ceremony<unknown>>(laptop.page, 'passkeys.signInOptions'));
    // Expire it in the database rather than wait five minutes.
    await db()
      .updateTable('webauthn_challenges')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', ceremony.challengeId)
      .execute();
    const response = await getAssertion(laptop, ceremony.options);
    const late = await api(laptop.page, 'passkeys.signIn', { challengeId: ceremony.challengeId, response });
    expect(late).toMatchObject({ ok: false, appCode: 'UNAUTHENTICATED', details: { reason: 'challenge_expired' } });
  });

  it('refuses a copy of the passkey whose counter did not go up, and records why', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const stored = await storedCounter(passkey.id);
    const { credentials } = await laptop.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: laptop.authenticatorId,
    });
    const original = credentials.find(
      (c) => Buffer.from(c.credentialId, 'base64').toString('base64url') === passkey.id,
    );
    if (original === undefined) throw new Error('the laptop lost its passkey');
    const copy = await openTab('platform');
    await copy.cdp.send('WebAuthn.addCredential', {
      authenticatorId: copy.authenticatorId,
      credential: { ...original, rpId: 'localhost', signCount: stored - 1 },
    });

    const { answer } = await passwordlessSignIn(copy);
    expect(answer).toMatchObject({ ok: false, appCode: 'UNAUTHENTICATED', details: { reason: 'possible_clone' } });
    expect(await storedCounter(passkey.id)).toBe(stored);
    const [event] = await client(passkeySession.accessToken).security.events.query({ limit: 1 });
    expect(event).toMatchObject({
      kind: 'mfa_failed',
      detail: { method: 'passkey', reason: 'signature_counter_not_increased', name: 'Laptop' },
    });

    // The real one still counts up and signs in.
    ok((await passwordlessSignIn(laptop)).answer);
    expect(await storedCounter(passkey.id)).toBeGreaterThan(stored);
    await copy.page.close();
  });

  it('renames, adds a security key only with a fresh second factor, and steps a session up with it', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    // The session from email verification never proved a second factor.
    const stale = alice.tokens.accessToken;
    const renamed = ok(
      await api<PasskeyView>(laptop.page, 'passkeys.rename', { id: passkey.id, name: 'Work laptop' }, { token: stale }),
    );
    expect(renamed.name).toBe('Work laptop');

    const yubikey = await openTab('security_key');
    const refused = await api(yubikey.page, 'passkeys.registrationOptions', { kind: 'security_key' }, { token: stale });
    expect(refused).toMatchObject({ ok: false, appCode: 'STEP_UP_REQUIRED' });
    const removal = await api(laptop.page, 'passkeys.remove', { id: passkey.id }, { token: stale });
    expect(removal).toMatchObject({ ok: false, appCode: 'STEP_UP_REQUIRED' });

    const key = ok(await registerIn(yubikey, passkeySession.accessToken, 'security_key', 'YubiKey'));
    expect(key).toMatchObject({ name: 'YubiKey', kind: 'security_key', transports: ['usb'] });
    const listed = ok(
      await api<PasskeyView[]>(laptop.page, 'passkeys.list', undefined, { token: stale, method: 'query' }),
    );
    expect(listed.map((p) => [p.name, p.kind])).toEqual([
      ['Work laptop', 'passkey'],
      ['YubiKey', 'security_key'],
    ]);

    // The stale session proves a second factor with the security key, and may then remove it.
    const ceremony = ok(
      await api<Ceremony<unknown>>(yubikey.page, 'passkeys.stepUpOptions', undefined, { token: stale }),
    );
    const response = await getAssertion(yubikey, ceremony.options);
    ok(await api(yubikey.page, 'passkeys.stepUp', { challengeId: ceremony.challengeId, response }, { token: stale }));
    const removed = ok(
      await api<{ removed: PasskeyView }>(yubikey.page, 'passkeys.remove', { id: key.id }, { token: stale }),
    );
    expect(removed.removed.name).toBe('YubiKey');
    await yubikey.page.close();
  });

  it('keeps each user’s credentials their own', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const bob = await newVerifiedUser();
    const bobsPhone = await openTab('platform');
    const token = bob.tokens.accessToken;
    expect(
      ok(await api<PasskeyView[]>(bobsPhone.page, 'passkeys.list', undefined, { token, method: 'query' })),
    ).toEqual([]);
    expect(await api(bobsPhone.page, 'passkeys.rename', { id: passkey.id, name: 'Mine now' }, { token })).toMatchObject(
      { ok: false, appCode: 'NOT_FOUND' },
    );

    // Even with a fresh second factor of his own, Bob cannot remove Alice's passkey.
    const bobsPasskey = ok(await registerIn(bobsPhone, token, 'passkey', 'Phone'));
    const fresh = ok((await passwordlessSignIn(bobsPhone)).answer);
    expect((await client(fresh.accessToken).auth.me.query()).id).toBe(bob.id);
    expect(
      await api(bobsPhone.page, 'passkeys.remove', { id: passkey.id }, { token: fresh.accessToken }),
    ).toMatchObject({ ok: false, appCode: 'NOT_FOUND' });
    expect(
      ok(
        await api<PasskeyView[]>(bobsPhone.page, 'passkeys.list', undefined, {
          token: fresh.accessToken,
          method: 'query',
        }),
      ).map((p) => p.id),
    ).toEqual([bobsPasskey.id]);
    await bobsPhone.page.close();
  });

  it('removes the passkey on the session it signed in, after which it can no longer sign in', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const removed = ok(
      await api<{ removed: PasskeyView }>(
        laptop.page,
        'passkeys.remove',
        { id: passkey.id },
        { token: passkeySession.accessToken },
      ),
    );
    expect(removed.removed).toMatchObject({ id: passkey.id, name: 'Work laptop' });
    const [event] = await client(passkeySession.accessToken).security.events.query({ limit: 1 });
    expect(event).toMatchObject({ kind: 'mfa_removed', detail: { method: 'passkey', name: 'Work laptop' } });

    // The authenticator still holds the credential; the server no longer knows it.
    const { answer } = await passwordlessSignIn(laptop);
    expect(answer).toMatchObject({ ok: false, appCode: 'UNAUTHENTICATED', details: { reason: 'unknown_credential' } });
    await laptop.page.close();
  });
});
