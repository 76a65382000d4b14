/**
 * Keeping the user signed in between launches: what `window.megilance.credentials`
 * does in main, for the one server the window talks to.
 *
 * The refresh token crosses IPC once, renderer → main, right after sign-in
 * (`save`). From then on main alone holds it: in the OS keychain
 * (credentials.ts), or, in "sign in each time" mode, in this process's
 * memory until the app quits. `refresh` reads it, calls the server's
 * `auth.refresh` itself (as the desktop client, so the rotated token comes
 * back in the answer), stores the rotated token and gives the renderer only
 * the access token, its expiry and the user. Nothing here returns a
 * refresh token.
 *
 * When the keychain cannot be used, the answer says so with the reason and
 * a message (never a silent fallback to files). A token that arrives while
 * the keychain is failing is held in memory for this run only, and the
 * answer says that too, so the UI can offer "Sign in each time" or "Try
 * again". The only thing written to disk here is non-secret:
 * `<userData>/credentials.json` with the chosen mode and, per server, the id
 * of the account whose token the keychain holds (to restore it at launch).
 *
 * Calls are serialised, and concurrent `refresh` calls share one request:
 * presenting a refresh token twice is treated by the server as theft and
 * ends the session.
 *
 * HTTP goes only to the configured server origin, with redirects refused (a
 * redirect must not carry the token elsewhere).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import superjson from 'superjson';
import * as z from 'zod';
import {
  accountIdSchema,
  credentialsModeSchema,
  refreshTokenSchema,
  saveCredentialsInputSchema,
  serverOriginSchema,
  type CredentialsForgetResult,
  type CredentialsMode,
  type CredentialsRefreshResult,
  type CredentialsSaveResult,
  type CredentialsStatus,
  type KeychainProblem,
  type SaveCredentialsInput,
} from '../shared/desktop-api.ts';
import { KeychainUnavailableError, type CredentialStore } from './credentials.ts';

/** What `window.megilance.credentials` calls in main (the IPC handlers parse the arguments first). */
export interface DesktopCredentials {
  status(): Promise<CredentialsStatus>;
  save(input: SaveCredentialsInput): Promise<CredentialsSaveResult>;
  refresh(): Promise<CredentialsRefreshResult>;
  forget(): Promise<CredentialsForgetResult>;
  chooseMode(mode: CredentialsMode): Promise<CredentialsStatus>;
}

export interface DesktopCredentialsOptions {
  /** Origin of the server (the window's app origin); the only place tokens are sent. */
  serverUrl: string;
  /**
   * The origin tokens are filed under in the keychain and preferences
   * (default: serverUrl). The embedded server listens on a new free port
   * each launch, so desktop-app.ts files its tokens under the origin without
   * the port (`http://127.0.0.1`): the same server (the same database in
   * userData) across launches.
   */
  storageOrigin?: string;
  store: CredentialStore;
  /** Folder for the non-secret `credentials.json` (Electron's userData). */
  preferencesDir: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Sent as User-Agent: the server labels the session's security events with it. */
  userAgent?: string;
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export const CREDENTIALS_PREFERENCES_FILE = 'credentials.json';

const preferencesSchema = z.object({
  version: z.literal(1),
  mode: credentialsModeSchema,
  /** Per server origin: the account whose refresh token the keychain holds. A user id, not a secret. */
  lastAccount: z.record(z.string(), accountIdSchema),
});
type Preferences = z.infer<typeof preferencesSchema>;

const DEFAULT_PREFERENCES: Preferences = { version: 1, mode: 'keychain', lastAccount: {} };

const issuedTokensSchema = z.object({
  accessToken: z.string().min(1).max(512),
  accessExpiresAt: z.date(),
  refreshToken: refreshTokenSchema,
  sessionId: z.string().min(1).max(128),
});

const meSchema = z.object({
  id: accountIdSchema,
  email: z.string().max(320),
  displayName: z.string().max(200),
  emailVerified: z.boolean(),
});

/** A tRPC error answer, as far as it is read here. */
const trpcErrorSchema = z.object({
  message: z.string(),
  data: z.object({ appCode: z.string().optional() }).partial().optional(),
});

type ServerAnswer = { ok: true; data: unknown } | { ok: false; appCode: string | undefined; message: string };

/** The server could not be asked (network, timeout, redirect, an answer that is not tRPC's). */
class ServerUnavailable extends Error {}

export function createDesktopCredentials(options: DesktopCredentialsOptions): DesktopCredentials {
  const serverUrl = serverOriginSchema.parse(options.serverUrl);
  const origin = serverOriginSchema.parse(options.storageOrigin ?? serverUrl);
  const { store } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const log = options.log ?? ((line: string) => console.warn(line));
  const preferencesFile = join(options.preferencesDir, CREDENTIALS_PREFERENCES_FILE);

  /** The token held in memory: "sign in each time", or the keychain refused it this run. */
  let memory: { accountId: string; refreshToken: string } | null = null;
  let preferences: Preferences | undefined;

  // ── Preferences (non-secret) ──

  const loadPreferences = async (): Promise<Preferences> => {
    if (preferences !== undefined) return preferences;
    let raw: string;
    try {
      raw = await readFile(preferencesFile, 'utf8');
    } catch {
      preferences = structuredClone(DEFAULT_PREFERENCES);
      return preferences;
    }
    let parsed: Preferences | undefined;
    try {
      const result = preferencesSchema.safeParse(JSON.parse(raw));
      if (result.success) parsed = result.data;
    } catch {
      // Not JSON: the defaults below.
    }
    if (parsed === undefined) log(`credentials: ${preferencesFile} is not valid; using the defaults`);
    preferences = parsed ?? structuredClone(DEFAULT_PREFERENCES);
    return preferences;
  };

  const savePreferences = async (next: Preferences): Promise<void> => {
    preferences = next;
    await mkdir(options.preferencesDir, { recursive: true });
    const temporary = `${preferencesFile}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, preferencesFile);
  };

  const setLastAccount = async (accountId: string | null): Promise<void> => {
    const current = await loadPreferences();
    if ((current.lastAccount[origin] ?? null) === accountId) return;
    const lastAccount = { ...current.lastAccount };
    if (accountId === null) delete lastAccount[origin];
    else lastAccount[origin] = accountId;
    await savePreferences({ ...current, lastAccount });
  };

  // ── Keeping a token ──

  type Held = { held: 'keychain' } | { held: 'memory'; problem: KeychainProblem | null };

  /** Puts a token where the chosen mode keeps it; the keychain refusing it leaves it in memory, with the problem. */
  const keep = async (accountId: string, refreshToken: string): Promise<Held> => {
    const { mode } = await loadPreferences();
    if (mode === 'session-only') {
      memory = { accountId, refreshToken };
      return { held: 'memory', problem: null };
    }
    try {
      await store.write(origin, accountId, refreshToken);
    } catch (error) {
      if (!(error instanceof KeychainUnavailableError)) throw error;
      memory = { accountId, refreshToken };
      return { held: 'memory', problem: error.toProblem() };
    }
    memory = null;
    await setLastAccount(accountId);
    return { held: 'keychain' };
  };

  /**
   * Deletes this server's token from memory and, when the keychain holds one
   * (`lastAccount`), from the keychain. Returns the keychain's problem when
   * it could not delete; the preference then still names the account, so a
   * later forget or refresh deletes it.
   */
  const discard = async (): Promise<KeychainProblem | null> => {
    memory = null;
    const stored = (await loadPreferences()).lastAccount[origin];
    if (stored === undefined) return null;
    try {
      await store.remove(origin, stored);
    } catch (error) {
      if (!(error instanceof KeychainUnavailableError)) throw error;
      return error.toProblem();
    }
    await setLastAccount(null);
    return null;
  };

  // ── The server ──

  const callServer = async (
    procedure: 'auth.refresh' | 'auth.me',
    request: { input: unknown } | { accessToken: string },
  ): Promise<ServerAnswer> => {
    const headers: Record<string, string> = { 'x-megilance-client': 'desktop' };
    if (options.userAgent !== undefined) headers['user-agent'] = options.userAgent;
    let response: Response;
    try {
      if ('input' in request) {
        headers['content-type'] = 'application/json';
        response = await fetchImpl(`${serverUrl}/trpc/${procedure}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(superjson.serialize(request.input)),
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } else {
        headers['authorization'] = `Bearer ${request.accessToken}`;
        response = await fetchImpl(`${serverUrl}/trpc/${procedure}`, {
          method: 'GET',
          headers,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
      }
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new ServerUnavailable(`${error instanceof Error ? error.message : String(error)}${cause}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new ServerUnavailable(`HTTP ${response.status} without a tRPC answer`);
    }
    const envelope = z
      .union([
        z.object({ result: z.object({ data: z.unknown() }) }),
        z.object({ error: z.object({ json: z.unknown(), meta: z.unknown().optional() }) }),
      ])
      .safeParse(body);
    if (!envelope.success) throw new ServerUnavailable(`HTTP ${response.status} without a tRPC answer`);
    if ('result' in envelope.data) {
      return {
        ok: true,
        data: superjson.deserialize(envelope.data.result.data as Parameters<typeof superjson.deserialize>[0]),
      };
    }
    const error = trpcErrorSchema.safeParse(
      superjson.deserialize(envelope.data.error as Parameters<typeof superjson.deserialize>[0]),
    );
    if (!error.success) throw new ServerUnavailable(`HTTP ${response.status} with an unreadable error`);
    return { ok: false, appCode: error.data.data?.appCode, message: error.data.message };
  };

  // ── The operations ──

  const status = async (): Promise<CredentialsStatus> => {
    const { mode } = await loadPreferences();
    try {
      await store.check();
    } catch (error) {
      if (!(error instanceof KeychainUnavailableError)) throw error;
      return { mode, available: false, ...error.toProblem() };
    }
    return { mode, available: true };
  };

  const save = async (input: SaveCredentialsInput): Promise<CredentialsSaveResult> => {
    const { accountId, refreshToken } = saveCredentialsInputSchema.parse(input);
    const kept = await keep(accountId, refreshToken);
    if (kept.held === 'keychain') return { saved: 'keychain' };
    if (kept.problem === null) return { saved: 'memory', because: 'session-only' };
    return { saved: 'memory', because: 'keychain-unavailable', ...kept.problem };
  };

  const refreshNow = async (): Promise<CredentialsRefreshResult> => {
    // 1. The stored token: memory first (session-only, or the keychain refused it), else the keychain.
    let accountId: string;
    let presented: string;
    if (memory !== null) {
      ({ accountId, refreshToken: presented } = memory);
    } else {
      const last = (await loadPreferences()).lastAccount[origin];
      if (last === undefined) {
        return { status: 'signed-out', reason: 'no-saved-sign-in', message: 'No saved sign-in for this server.' };
      }
      let stored: string | null;
      try {
        stored = await store.read(origin, last);
        // A locked Secret Service also reads as "nothing": ask the keychain whether it is usable.
        if (stored === null) await store.check();
      } catch (error) {
        if (!(error instanceof KeychainUnavailableError)) throw error;
        return { status: 'keychain-unavailable', ...error.toProblem() };
      }
      if (stored === null) {
        // Deleted outside the app (e.g. in the keyring manager).
        await setLastAccount(null);
        return { status: 'signed-out', reason: 'no-saved-sign-in', message: 'No saved sign-in for this server.' };
      }
      accountId = last;
      presented = stored;
    }

    // 2. Rotate it with the server.
    let answer: ServerAnswer;
    try {
      answer = await callServer('auth.refresh', { input: { refreshToken: presented } });
    } catch (error) {
      if (!(error instanceof ServerUnavailable)) throw error;
      log(`credentials: refresh for ${origin} could not reach ${serverUrl}: ${error.message}`);
      return {
        status: 'server-unavailable',
        message: `Could not reach the MegiLance server at ${serverUrl} (${error.message}). You are still signed in; try again shortly.`,
        accountId,
      };
    }
    if (!answer.ok) {
      if (answer.appCode === 'UNAUTHENTICATED') {
        // Revoked, expired or already used: the token is dead, delete it.
        log(`credentials: the server ended the saved sign-in of ${accountId} on ${origin}`);
        await discard();
        return { status: 'signed-out', reason: 'sign-in-ended', message: answer.message };
      }
      return { status: 'server-unavailable', message: answer.message, accountId };
    }
    const tokens = issuedTokensSchema.safeParse(answer.data);
    if (!tokens.success) {
      return { status: 'server-unavailable', message: `The server at ${serverUrl} answered the refresh unexpectedly.` };
    }

    // 3. Keep the rotated token before anything else can fail: the presented one is spent.
    const kept = await keep(accountId, tokens.data.refreshToken);

    // 4. Who is signed in.
    let me: ServerAnswer;
    try {
      me = await callServer('auth.me', { accessToken: tokens.data.accessToken });
    } catch (error) {
      if (!(error instanceof ServerUnavailable)) throw error;
      return { status: 'server-unavailable', message: `Could not reach the MegiLance server at ${serverUrl}.` };
    }
    const user = me.ok ? meSchema.safeParse(me.data) : undefined;
    if (user === undefined || !user.success) {
      return { status: 'server-unavailable', message: `The server at ${serverUrl} did not say who is signed in.` };
    }
    const { accessToken, accessExpiresAt, sessionId } = tokens.data;
    const signedIn = { status: 'signed-in' as const, accessToken, accessExpiresAt, sessionId, user: user.data };
    if (kept.held === 'keychain') return { ...signedIn, held: 'keychain' };
    return kept.problem === null
      ? { ...signedIn, held: 'memory' }
      : { ...signedIn, held: 'memory', keychainProblem: kept.problem };
  };

  const forget = async (): Promise<CredentialsForgetResult> => {
    const problem = await discard();
    return problem === null ? { forgotten: true } : { forgotten: false, ...problem };
  };

  const chooseMode = async (mode: CredentialsMode): Promise<CredentialsStatus> => {
    const current = await loadPreferences();
    await savePreferences({ ...current, mode });
    const stored = current.lastAccount[origin];
    if (mode === 'session-only' && stored !== undefined) {
      // Nothing may stay on disk: move the token into memory, then out of the keychain.
      let token: string | null;
      try {
        token = await store.read(origin, stored);
      } catch (error) {
        if (!(error instanceof KeychainUnavailableError)) throw error;
        return { mode, available: false, ...error.toProblem() };
      }
      const moved = memory ?? (token === null ? null : { accountId: stored, refreshToken: token });
      const problem = await discard();
      memory = moved;
      if (problem !== null) return { mode, available: false, ...problem };
    }
    if (mode === 'keychain' && memory !== null) {
      const kept = await keep(memory.accountId, memory.refreshToken);
      if (kept.held === 'memory' && kept.problem !== null) return { mode, available: false, ...kept.problem };
    }
    return await status();
  };

  // ── Serialised, with one refresh in flight at most ──

  let queue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(operation: () => Promise<T>): Promise<T> => {
    const run = queue.then(operation, operation);
    queue = run.catch(() => undefined);
    return run;
  };
  let refreshing: Promise<CredentialsRefreshResult> | undefined;

  return {
    status: () => serialised(status),
    save: (input) => serialised(() => save(input)),
    refresh: () => {
      refreshing ??= serialised(refreshNow).finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    forget: () => serialised(forget),
    chooseMode: (mode) => serialised(() => chooseMode(mode)),
  };
}
