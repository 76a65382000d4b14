/**
 * The contract between the desktop shell and the renderer: the type of the
 * one object the preload exposes as `window.megilance`, and the zod schemas
 * main parses every IPC payload with. The renderer must treat the object as
 * optional (the same UI runs in a plain browser, where it is absent).
 *
 * Runs everywhere: no Node, DOM or Electron imports here.
 */
import * as z from 'zod';

/** Operating systems the desktop app ships for (Electron's `process.platform`). */
export const desktopPlatformSchema = z.enum(['darwin', 'win32', 'linux']);
export type DesktopPlatform = z.infer<typeof desktopPlatformSchema>;

/**
 * The origin of the MegiLance server the window talks to, e.g.
 * `http://127.0.0.1:41234` (embedded) or `https://megilance.example.com`
 * (remote): scheme, host and port only, no trailing slash, so `${serverUrl}/trpc`
 * is the API.
 */
export const serverOriginSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048)
  .regex(
    /^https?:\/\/[^/?#@\s]+$/,
    'must be an origin such as https://megilance.example.com (no path, no trailing slash)',
  );

/**
 * What main hands the preload when it creates the window (through
 * `webPreferences.additionalArguments`, so the values are there synchronously
 * before any page script runs). The preload parses it with this schema.
 */
export const desktopBootstrapSchema = z.strictObject({
  serverUrl: serverOriginSchema,
  appVersion: z.string().min(1).max(64),
  platform: desktopPlatformSchema,
});
export type DesktopBootstrap = z.infer<typeof desktopBootstrapSchema>;

/** The command-line flag that carries the bootstrap into the renderer process. */
export const DESKTOP_BOOTSTRAP_FLAG = '--megilance-bootstrap=';

export const desktopAppInfoSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  platform: desktopPlatformSchema,
  serverUrl: serverOriginSchema,
  /** `embedded`: the app started its own server; `remote`: MEGILANCE_SERVER_URL pointed it elsewhere. */
  serverMode: z.enum(['embedded', 'remote']),
  electronVersion: z.string(),
  chromeVersion: z.string(),
});
export type DesktopAppInfo = z.infer<typeof desktopAppInfoSchema>;

// ── Credentials (electron/credentials*.ts) ─────────────────────────────────

/**
 * Where the desktop app keeps the refresh token between launches:
 * `keychain` (the OS keychain: GNOME Keyring / KWallet, macOS Keychain,
 * Windows Credential Manager) or `session-only` ("sign in each time": main's
 * memory until the app quits). Only this choice is written to disk.
 */
export const credentialsModeSchema = z.enum(['keychain', 'session-only']);
export type CredentialsMode = z.infer<typeof credentialsModeSchema>;

/**
 * Why the OS keychain cannot be used, as a code the UI may translate:
 * - `module-unavailable`: the app's keychain component (keytar) did not load (broken install, libsecret missing)
 * - `no-session-bus`: Linux, no D-Bus session bus (outside a desktop session, e.g. over SSH)
 * - `no-secret-service`: Linux, nothing provides org.freedesktop.secrets (no GNOME Keyring / KWallet running)
 * - `no-keyring`: the keychain service has no default keyring / keychain to write to
 * - `locked`: the keyring is locked and was not unlocked
 * - `denied`: access refused, or the unlock prompt was dismissed
 * - `no-logon-session`: Windows, Credential Manager has no logged-on user profile (services, runas)
 * - `error`: anything else the keychain answered
 */
export const keychainUnavailableReasonSchema = z.enum([
  'module-unavailable',
  'no-session-bus',
  'no-secret-service',
  'no-keyring',
  'locked',
  'denied',
  'no-logon-session',
  'error',
]);
export type KeychainUnavailableReason = z.infer<typeof keychainUnavailableReasonSchema>;

/**
 * A user id of the server, used as the keychain account name. The server's
 * ids are UUIDs; any URL-safe id up to 64 characters is accepted.
 */
export const accountIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a user id (letters, digits, - and _, at most 64)');

/** A refresh token as the server issues it (`mlr_…`): printable ASCII, as long as the server accepts (auth.refresh). */
export const refreshTokenSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const saveCredentialsInputSchema = z.strictObject({
  accountId: accountIdSchema,
  refreshToken: refreshTokenSchema,
});
export type SaveCredentialsInput = z.infer<typeof saveCredentialsInputSchema>;

/** Why the keychain cannot be used, with a message that says what is missing and what the user can do. */
export interface KeychainProblem {
  readonly reason: KeychainUnavailableReason;
  readonly message: string;
}

/** `credentials.status()`: the user's choice, and whether the OS keychain can be used right now. */
export type CredentialsStatus =
  | { readonly mode: CredentialsMode; readonly available: true }
  | ({ readonly mode: CredentialsMode; readonly available: false } & KeychainProblem);

/** `credentials.save()`: where the refresh token now lives. */
export type CredentialsSaveResult =
  | { readonly saved: 'keychain' }
  | { readonly saved: 'memory'; readonly because: 'session-only' }
  /** Held in memory for this run only; show the message and offer "Sign in each time" or "Try again" (chooseMode('keychain')). */
  | ({ readonly saved: 'memory'; readonly because: 'keychain-unavailable' } & KeychainProblem);

/** The signed-in user, as the server's `auth.me` answers. */
export interface DesktopSignedInUser {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly emailVerified: boolean;
}

/** `credentials.refresh()`: a fresh access token, never the refresh token. */
export type CredentialsRefreshResult =
  | {
      readonly status: 'signed-in';
      readonly accessToken: string;
      readonly accessExpiresAt: Date;
      readonly sessionId: string;
      readonly user: DesktopSignedInUser;
      /** Where the rotated refresh token was put; `memory` with `keychainProblem` when the keychain refused it. */
      readonly held: 'keychain' | 'memory';
      readonly keychainProblem?: KeychainProblem;
    }
  /** `no-saved-sign-in`: nothing stored for this server; `sign-in-ended`: the server refused the token (it is deleted). */
  | { readonly status: 'signed-out'; readonly reason: 'no-saved-sign-in' | 'sign-in-ended'; readonly message: string }
  /** A sign-in may be stored but the keychain cannot be read; the stored token is kept. */
  | ({ readonly status: 'keychain-unavailable' } & KeychainProblem)
  /** Network failure, timeout or a server error; the stored token is kept, try again later. */
  | { readonly status: 'server-unavailable'; readonly message: string };

/** `credentials.forget()`: false with the problem when the keychain could not delete the token. */
export type CredentialsForgetResult = { readonly forgotten: true } | ({ readonly forgotten: false } & KeychainProblem);

/**
 * Arguments of every IPC method, as a tuple schema per method: main parses
 * the raw arguments with it, so a wrong count or shape is rejected before
 * any handler code runs. Shapes only; policy (e.g. "https only") is main's.
 */
export const desktopIpcArgs = {
  app: {
    getInfo: z.tuple([]),
  },
  links: {
    openExternal: z.tuple([z.string().min(1).max(2048)]),
  },
  credentials: {
    status: z.tuple([]),
    save: z.tuple([saveCredentialsInputSchema]),
    refresh: z.tuple([]),
    forget: z.tuple([]),
    chooseMode: z.tuple([credentialsModeSchema]),
  },
} as const;

/** `window.megilance`: everything the renderer may ask of the desktop. */
export interface MegilanceDesktopApi {
  readonly platform: DesktopPlatform;
  readonly appVersion: string;
  /** Origin of the server this window was loaded from and talks to. */
  readonly serverUrl: string;
  readonly app: {
    getInfo(): Promise<DesktopAppInfo>;
  };
  readonly links: {
    /**
     * Opens an https link in the user's browser. Rejects a URL that is not
     * https: or carries a user name or password.
     */
    openExternal(url: string): Promise<void>;
  };
  /**
   * Keeping the user signed in between launches, for the server this window
   * talks to. The refresh token crosses IPC once, renderer → main, right
   * after sign-in (`save`); main keeps it in the OS keychain (or in memory in
   * "sign in each time" mode), rotates it itself (`refresh`) and hands the
   * renderer only access tokens. Nothing here ever returns a refresh token.
   */
  readonly credentials: {
    /** The chosen mode and whether the OS keychain works right now (with the reason and a message if not). */
    status(): Promise<CredentialsStatus>;
    /** After sign-in (the desktop client gets `refreshToken` in the answer): hand it to main, then drop it. */
    save(input: SaveCredentialsInput): Promise<CredentialsSaveResult>;
    /** At launch and before the access token expires: main rotates the stored token with the server. */
    refresh(): Promise<CredentialsRefreshResult>;
    /** On sign-out (after auth.signOut): deletes the stored token for this server. */
    forget(): Promise<CredentialsForgetResult>;
    /** The user's choice; `session-only` moves a stored token out of the keychain, `keychain` moves it in. */
    chooseMode(mode: CredentialsMode): Promise<CredentialsStatus>;
  };
}

/** Main: the one command-line argument that carries the bootstrap to the preload. */
export function encodeDesktopBootstrap(bootstrap: DesktopBootstrap): string {
  return DESKTOP_BOOTSTRAP_FLAG + encodeURIComponent(JSON.stringify(desktopBootstrapSchema.parse(bootstrap)));
}

/** Preload: finds and parses the bootstrap among the renderer's arguments, or throws saying what is wrong. */
export function decodeDesktopBootstrap(argv: readonly string[]): DesktopBootstrap {
  const argument = argv.find((value) => value.startsWith(DESKTOP_BOOTSTRAP_FLAG));
  if (argument === undefined) {
    throw new Error(
      `MegiLance preload: no ${DESKTOP_BOOTSTRAP_FLAG} argument; the window was not created by the desktop app`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(decodeURIComponent(argument.slice(DESKTOP_BOOTSTRAP_FLAG.length)));
  } catch {
    throw new Error(`MegiLance preload: ${DESKTOP_BOOTSTRAP_FLAG} is not URI-encoded JSON`);
  }
  const parsed = desktopBootstrapSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`MegiLance preload: invalid bootstrap: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
