/**
 * Staying signed in between launches, against a real server: the two modes
 * (keychain, "sign in each time"), a keychain that is unavailable at save or
 * at launch, moving a token between the modes, restoring after a relaunch,
 * one rotation for concurrent refreshes, and a server that cannot be reached
 * or redirects. The keychain is an in-memory stand-in whose availability the
 * test switches (the real one is proven in credentials.test.ts).
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiClient, refusalOf } from '../tests/support/api.ts';
import { createDesktopCredentials, type DesktopCredentials } from './credentials-sign-in.ts';
import { FakeKeychain, startAccountServer, type AccountServer } from './credentials-test-support.ts';

let accounts: AccountServer;
beforeAll(async () => {
  accounts = await startAccountServer();
});
afterAll(async () => {
  await accounts.dispose();
});

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Launch {
  credentials: DesktopCredentials;
  fetch: ReturnType<typeof vi.fn<typeof fetch>>;
  logs: string[];
}

/** One run of the app: its credentials over a keychain and a userData folder that outlive it. */
function launch(keychain: FakeKeychain, userData: string, serverUrl = accounts.server.url): Launch {
  const fetchSpy = vi.fn<typeof fetch>((input, init) => globalThis.fetch(input, init));
  const logs: string[] = [];
  const credentials = createDesktopCredentials({
    serverUrl,
    storageOrigin: accounts.server.url,
    store: keychain,
    preferencesDir: userData,
    fetch: fetchSpy,
    userAgent: 'MegiLance/0.1.0 (linux; Electron 45.4.1)',
    requestTimeoutMs: 5_000,
    log: (line) => logs.push(line),
  });
  return { credentials, fetch: fetchSpy, logs };
}

function setUp() {
  const userData = mkdtempSync(join(tmpdir(), 'megilance-credentials-'));
  temporary.push(userData);
  return { keychain: new FakeKeychain(), userData };
}

const preferencesOf = (userData: string): unknown =>
  JSON.parse(readFileSync(join(userData, 'credentials.json'), 'utf8'));

/** How many auth.refresh requests a launch sent. */
function refreshCalls(run: Launch): number {
  const urlOf = (input: Parameters<typeof fetch>[0]): string =>
    typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return run.fetch.mock.calls.filter(([input]) => urlOf(input).endsWith('/trpc/auth.refresh')).length;
}

describe('keychain mode', () => {
  it('restores the sign-in after a relaunch: the account is remembered, the token read from the keychain', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    const first = launch(keychain, userData);
    expect(await first.credentials.save({ accountId: userId, refreshToken: tokens.refreshToken })).toEqual({
      saved: 'keychain',
    });
    expect(preferencesOf(userData)).toEqual({
      version: 1,
      mode: 'keychain',
      lastAccount: { [accounts.server.url]: userId },
    });

    const second = launch(keychain, userData);
    const restored = await second.credentials.refresh();
    expect(restored).toMatchObject({ status: 'signed-in', held: 'keychain', user: { id: userId } });
    expect(readFileSync(join(userData, 'credentials.json'), 'utf8')).not.toMatch(/mlr_|mla_/);
  });

  it('concurrent refreshes share one rotation (presenting a token twice would end the session)', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    const run = launch(keychain, userData);
    await run.credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });
    const [a, b, c] = await Promise.all([
      run.credentials.refresh(),
      run.credentials.refresh(),
      run.credentials.refresh(),
    ]);
    expect(a.status).toBe('signed-in');
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(refreshCalls(run)).toBe(1);
    await expect(run.credentials.refresh()).resolves.toMatchObject({ status: 'signed-in' });
    expect(refreshCalls(run)).toBe(2);
  });

  it('a keychain that fails at save: the user is told, the token is held in memory for this run only', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    keychain.unavailable = 'no-session-bus';
    const run = launch(keychain, userData);

    const status = await run.credentials.status();
    expect(status).toMatchObject({ mode: 'keychain', available: false, reason: 'no-session-bus' });
    if (status.available) return;
    expect(status.message).toMatch(/no desktop session bus.*"Sign in each time"/);

    expect(await run.credentials.save({ accountId: userId, refreshToken: tokens.refreshToken })).toMatchObject({
      saved: 'memory',
      because: 'keychain-unavailable',
      reason: 'no-session-bus',
      message: expect.stringMatching(/D-Bus/) as string,
    });
    const refreshed = await run.credentials.refresh();
    expect(refreshed).toMatchObject({
      status: 'signed-in',
      held: 'memory',
      keychainProblem: { reason: 'no-session-bus' },
    });
    expect(keychain.items.size).toBe(0);
    // Nothing secret, and no account, on disk: nothing was stored.
    expect(() => readFileSync(join(userData, 'credentials.json'))).toThrow(/ENOENT/);

    // "Try again" once the keychain works: the token moves into it.
    keychain.unavailable = null;
    expect(await run.credentials.chooseMode('keychain')).toEqual({ mode: 'keychain', available: true });
    expect(keychain.stored(accounts.server.url, userId)).toMatch(/^mlr_/);
    await expect(launch(keychain, userData).credentials.refresh()).resolves.toMatchObject({ status: 'signed-in' });
  });

  it('a keychain that is locked at launch: "keychain-unavailable", the stored token kept, not "signed out"', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    await launch(keychain, userData).credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });

    keychain.unavailable = 'locked';
    // keytar reads a locked Secret Service as "nothing stored": the answer must still be "locked".
    keychain.readsNullWhenUnavailable = true;
    const run = launch(keychain, userData);
    expect(await run.credentials.refresh()).toMatchObject({
      status: 'keychain-unavailable',
      reason: 'locked',
      message: expect.stringMatching(/is locked/) as string,
    });
    expect(keychain.stored(accounts.server.url, userId)).toBe(tokens.refreshToken);
    expect(preferencesOf(userData)).toMatchObject({ lastAccount: { [accounts.server.url]: userId } });
    expect(run.fetch).not.toHaveBeenCalled();

    // Unlocked later: the same launch restores the sign-in.
    keychain.unavailable = null;
    await expect(run.credentials.refresh()).resolves.toMatchObject({ status: 'signed-in', user: { id: userId } });
  });

  it('a token deleted outside the app (keyring manager) reads as signed out and the account is forgotten', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    await launch(keychain, userData).credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });
    keychain.items.clear();
    await expect(launch(keychain, userData).credentials.refresh()).resolves.toMatchObject({
      status: 'signed-out',
      reason: 'no-saved-sign-in',
    });
    expect(preferencesOf(userData)).toMatchObject({ lastAccount: {} });
  });

  it('forget reports a keychain that could not delete, and a later forget finishes the job', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    const run = launch(keychain, userData);
    await run.credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });
    keychain.unavailable = 'locked';
    expect(await run.credentials.forget()).toMatchObject({ forgotten: false, reason: 'locked' });
    keychain.unavailable = null;
    expect(await run.credentials.forget()).toEqual({ forgotten: true });
    expect(keychain.items.size).toBe(0);
  });
});

describe('"sign in each time" (session-only)', () => {
  it('keeps the token in memory only: refresh works this run, nothing is in the keychain, a relaunch is signed out', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    const run = launch(keychain, userData);
    expect(await run.credentials.chooseMode('session-only')).toEqual({ mode: 'session-only', available: true });
    expect(await run.credentials.save({ accountId: userId, refreshToken: tokens.refreshToken })).toEqual({
      saved: 'memory',
      because: 'session-only',
    });
    await expect(run.credentials.refresh()).resolves.toMatchObject({ status: 'signed-in', held: 'memory' });
    await expect(run.credentials.refresh()).resolves.toMatchObject({ status: 'signed-in', held: 'memory' });
    expect(keychain.calls.filter((call) => call !== 'check')).toEqual([]);
    // Only the choice is persisted.
    expect(preferencesOf(userData)).toEqual({ version: 1, mode: 'session-only', lastAccount: {} });

    const relaunched = launch(keychain, userData);
    await expect(relaunched.credentials.status()).resolves.toMatchObject({ mode: 'session-only' });
    await expect(relaunched.credentials.refresh()).resolves.toMatchObject({
      status: 'signed-out',
      reason: 'no-saved-sign-in',
    });
  });

  it('choosing it moves a stored token out of the keychain; choosing the keychain again moves it back', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    const run = launch(keychain, userData);
    await run.credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });
    expect(keychain.items.size).toBe(1);

    await run.credentials.chooseMode('session-only');
    expect(keychain.items.size).toBe(0);
    expect(preferencesOf(userData)).toEqual({ version: 1, mode: 'session-only', lastAccount: {} });
    await expect(run.credentials.refresh()).resolves.toMatchObject({ status: 'signed-in', held: 'memory' });

    expect(await run.credentials.chooseMode('keychain')).toEqual({ mode: 'keychain', available: true });
    expect(keychain.stored(accounts.server.url, userId)).toMatch(/^mlr_/);
    await expect(launch(keychain, userData).credentials.refresh()).resolves.toMatchObject({
      status: 'signed-in',
      held: 'keychain',
    });
  });

  it('the keychain unavailable and the user accepts "sign in each time"', async () => {
    const { keychain, userData } = setUp();
    keychain.unavailable = 'no-secret-service';
    const run = launch(keychain, userData);
    expect(await run.credentials.chooseMode('session-only')).toMatchObject({
      mode: 'session-only',
      available: false,
      reason: 'no-secret-service',
    });
    const { userId, tokens } = await accounts.signedUp();
    expect(await run.credentials.save({ accountId: userId, refreshToken: tokens.refreshToken })).toEqual({
      saved: 'memory',
      because: 'session-only',
    });
    await expect(run.credentials.refresh()).resolves.toMatchObject({ status: 'signed-in', held: 'memory' });
  });
});

describe('the server side of refresh', () => {
  it('an unreachable server: "server-unavailable", and the stored token is kept for later', async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    await launch(keychain, userData).credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });
    const offline = launch(keychain, userData, 'http://127.0.0.1:9');
    expect(await offline.credentials.refresh()).toMatchObject({
      status: 'server-unavailable',
      message: expect.stringMatching(/^Could not reach the MegiLance server at http:\/\/127\.0\.0\.1:9/) as string,
    });
    expect(keychain.stored(accounts.server.url, userId)).toBe(tokens.refreshToken);
    expect(offline.logs.join('\n')).not.toContain(tokens.refreshToken);
    await expect(launch(keychain, userData).credentials.refresh()).resolves.toMatchObject({ status: 'signed-in' });
  });

  it('a redirect is not followed: the token goes to the configured server only', async () => {
    const seen: string[] = [];
    const redirector: Server = createServer((request, response) => {
      seen.push(`${request.method ?? ''} ${request.url ?? ''}`);
      response.writeHead(307, { location: `${accounts.server.url}${request.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const address = redirector.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const { keychain, userData } = setUp();
      const { userId, tokens } = await accounts.signedUp();
      await launch(keychain, userData).credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });
      const redirected = launch(keychain, userData, `http://127.0.0.1:${address.port}`);
      expect(await redirected.credentials.refresh()).toMatchObject({ status: 'server-unavailable' });
      expect(seen).toEqual(['POST /trpc/auth.refresh']);
      // The real server never saw the token: it is still unused and rotates normally.
      const rotated = await apiClient(accounts.server.url).auth.refresh.mutate({ refreshToken: tokens.refreshToken });
      expect(rotated.refreshToken).toMatch(/^mlr_/);
    } finally {
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  it("a token the server no longer accepts is deleted and the user is signed out with the server's words", async () => {
    const { keychain, userData } = setUp();
    const { userId, tokens } = await accounts.signedUp();
    await launch(keychain, userData).credentials.save({ accountId: userId, refreshToken: tokens.refreshToken });
    // Signed out elsewhere: the session ends on the server.
    await apiClient(accounts.server.url, { accessToken: tokens.accessToken }).auth.signOut.mutate();
    expect(await refusalOf(apiClient(accounts.server.url, { accessToken: tokens.accessToken }).auth.me.query())).toBe(
      'UNAUTHENTICATED',
    );
    const run = launch(keychain, userData);
    expect(await run.credentials.refresh()).toMatchObject({ status: 'signed-out', reason: 'sign-in-ended' });
    expect(keychain.items.size).toBe(0);
    expect(preferencesOf(userData)).toMatchObject({ lastAccount: {} });
  });

  it('a damaged preferences file falls back to the defaults (keychain mode, nothing remembered)', async () => {
    const { keychain, userData } = setUp();
    writeFileSync(join(userData, 'credentials.json'), '{"version":1,"mode":"plaintext"');
    const run = launch(keychain, userData);
    await expect(run.credentials.status()).resolves.toEqual({ mode: 'keychain', available: true });
    expect(run.logs).toEqual([expect.stringMatching(/credentials\.json is not valid; using the defaults/)]);
  });
});
