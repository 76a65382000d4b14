/**
 * Refresh tokens in the OS keychain (GNOME Keyring / KWallet through the
 * Secret Service, macOS Keychain, Windows Credential Manager), reached only
 * from main, through keytar.
 *
 * Layout: one keychain service per MegiLance server, `MegiLance (<origin>)`,
 * and the server's user id as the account, so listing one server's accounts
 * reads only that server's secrets. The closing parenthesis matters on
 * Windows, where keytar lists credentials by target-name prefix
 * (`http://127.0.0.1:4123` would otherwise also match `…:41234`).
 *
 * keytar is loaded lazily, on the first call, with CommonJS `require` (the
 * loader Electron's asar support and the unpacked `.node` redirect are proven
 * with; the specifier is a variable so esbuild leaves it out of the main
 * bundle). A missing or broken native module, no D-Bus session bus, no
 * Secret Service, a locked or missing keyring: each becomes a
 * `KeychainUnavailableError` with a reason code and a message a user can act
 * on. There is no fallback to files; "sign in each time" (memory only) is
 * the user's choice, made in credentials-sign-in.ts.
 *
 * Two keytar behaviours on a locked Secret Service collection shape this
 * file: `getPassword` answers null and `deletePassword` false (as if nothing
 * were stored), and `findCredentials` crashes the process (it reads the
 * secret of an item that stayed locked). So listing first proves the
 * keychain writable with a probe item, and a `false` delete is checked the
 * same way.
 *
 * Secrets are never logged or put in errors: logs name the service and
 * account at most. Imports nothing from 'electron': runs under plain Node
 * (the tests drive a real gnome-keyring through it in a child process).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  accountIdSchema,
  refreshTokenSchema,
  serverOriginSchema,
  type KeychainProblem,
  type KeychainUnavailableReason,
} from '../shared/desktop-api.ts';

/** The part of keytar used here (its whole API but findPassword). */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<{ account: string; password: string }[]>;
}

/** Thrown by every store operation the keychain cannot do; `message` is for the user. */
export class KeychainUnavailableError extends Error implements KeychainProblem {
  readonly reason: KeychainUnavailableReason;
  /** What the OS or keytar said (never a secret), for logs and support. */
  readonly detail: string;

  constructor(reason: KeychainUnavailableReason, message: string, detail: string) {
    super(message);
    this.name = 'KeychainUnavailableError';
    this.reason = reason;
    this.detail = detail;
  }

  /** The reason and message only, as the renderer gets them. */
  toProblem(): KeychainProblem {
    return { reason: this.reason, message: this.message };
  }
}

/** Refresh tokens per server origin and account, in the OS keychain. */
export interface CredentialStore {
  /** The stored token, or null when none is stored. */
  read(origin: string, accountId: string): Promise<string | null>;
  /** Stores or replaces the token. */
  write(origin: string, accountId: string, refreshToken: string): Promise<void>;
  /** True when a token was deleted, false when none was stored. */
  remove(origin: string, accountId: string): Promise<boolean>;
  /** The accounts with a token stored for this server, sorted. */
  listAccounts(origin: string): Promise<string[]>;
  /** Resolves when the keychain can be written now; otherwise throws the KeychainUnavailableError. */
  check(): Promise<void>;
}

const SERVICE_NAME = 'MegiLance';
/** Written and deleted again by `check()`: a value that is no credential, under its own service. */
const PROBE_ACCOUNT = 'keychain-check';

/** The keychain service holding one server's tokens. */
export function keychainService(origin: string): string {
  return `${SERVICE_NAME} (${origin})`;
}

// ── Classifying failures ──────────────────────────────────────────────────

const FALLBACK = 'Until then you can choose "Sign in each time": you stay signed in until you quit MegiLance.';

function keychainName(platform: string): string {
  if (platform === 'darwin') return 'the macOS Keychain';
  if (platform === 'win32') return 'Windows Credential Manager';
  return 'a keyring (GNOME Keyring or KWallet)';
}

/** The message for the user: what is missing and what they can do. */
export function keychainMessage(reason: KeychainUnavailableReason, platform: string, detail: string): string {
  const where = keychainName(platform);
  const cannot = `MegiLance cannot keep you signed in: `;
  switch (reason) {
    case 'module-unavailable':
      return platform === 'linux'
        ? `${cannot}its keychain component could not be loaded (${detail}). Make sure libsecret is installed (Debian/Ubuntu package libsecret-1-0), or reinstall MegiLance. ${FALLBACK}`
        : `${cannot}its keychain component could not be loaded (${detail}). Reinstall MegiLance. ${FALLBACK}`;
    case 'no-session-bus':
      return `${cannot}there is no desktop session bus (D-Bus), so it cannot reach ${where}. This happens when MegiLance is started outside a desktop session, for example over SSH or from a service. Start MegiLance from your desktop session. ${FALLBACK}`;
    case 'no-secret-service':
      return `${cannot}no keyring service is running (nothing provides the Secret Service). Install and start GNOME Keyring (package gnome-keyring) or KWallet, then restart MegiLance. ${FALLBACK}`;
    case 'no-keyring':
      return platform === 'darwin'
        ? `${cannot}macOS could not find your default keychain. Open Keychain Access and make sure a login keychain exists (Keychain Access > Settings > Reset Default Keychains). ${FALLBACK}`
        : `${cannot}your keyring service has no default keyring. Open "Passwords and Keys" (Seahorse) or KWallet Manager and create a default ("Login") keyring. ${FALLBACK}`;
    case 'locked':
      return platform === 'darwin'
        ? `${cannot}your keychain is locked. Unlock it in Keychain Access, then try again. ${FALLBACK}`
        : `${cannot}${where} is locked. Unlock it (for example in "Passwords and Keys" or KWallet Manager), then try again. ${FALLBACK}`;
    case 'denied':
      return `${cannot}access to ${where} was refused or the unlock prompt was closed. Try again and allow MegiLance when asked. ${FALLBACK}`;
    case 'no-logon-session':
      return `${cannot}Windows Credential Manager is not available in this session (no signed-in Windows user profile, for example when started as a service or with "Run as"). Start MegiLance from your own Windows session. ${FALLBACK}`;
    case 'error':
      return `${cannot}${where} answered with an error (${detail}). Try again. ${FALLBACK}`;
  }
}

/** Patterns of what libsecret/D-Bus, macOS Security and Windows Credential Manager say, in the order tried. */
const REASON_PATTERNS: readonly [KeychainUnavailableReason, RegExp][] = [
  [
    'no-session-bus',
    /Cannot autolaunch D-Bus|Unable to autolaunch|DBUS_SESSION_BUS_ADDRESS|dbus-launch|Could not connect: |Failed to connect to socket|org\.freedesktop\.DBus\.Error\.(?:NoServer|Disconnected|FileNotFound)/i,
  ],
  [
    'no-secret-service',
    /org\.freedesktop\.secrets was not provided|not provided by any \.service files|ServiceUnknown|org\.freedesktop\.Secret\.Service.*(?:unknown|not)/i,
  ],
  // libsecret: no default collection and none could be created (no prompter). macOS: errSecNoSuchKeychain, errSecNoDefaultKeychain.
  [
    'no-keyring',
    /Object does not exist at path|No such secret collection|NoSuchObject|keychain could not be found|No keychain/i,
  ],
  // Windows: ERROR_NO_SUCH_LOGON_SESSION (1312).
  ['no-logon-session', /logon session does not exist/i],
  // libsecret: "Cannot create an item in a locked collection"; macOS: errSecInteractionNotAllowed.
  ['locked', /locked|User interaction is not allowed|IsLocked/i],
  // libsecret: prompt dismissed; macOS: errSecUserCanceled, errSecAuthFailed; Windows: ERROR_ACCESS_DENIED.
  ['denied', /dismiss|cancel|denied|not authori[sz]ed|passphrase you entered is not correct|Access is denied/i],
];

function messageOf(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  return raw.replace(/\s+/g, ' ').trim().slice(0, 300) || 'no details';
}

/** Turns what keytar threw into the reason and the user's message. */
export function classifyKeychainError(error: unknown, platform: string): KeychainUnavailableError {
  if (error instanceof KeychainUnavailableError) return error;
  const detail = messageOf(error);
  const reason = REASON_PATTERNS.find(([, pattern]) => pattern.test(detail))?.[0] ?? 'error';
  return new KeychainUnavailableError(reason, keychainMessage(reason, platform, detail), detail);
}

// ── The store ─────────────────────────────────────────────────────────────

export interface KeychainStoreOptions {
  /** process.platform: which keychain the messages name. */
  platform: string;
  /** Loads keytar (default: `require('keytar')`, once). Tests pass a failing loader for the missing-module case. */
  loadKeytar?: () => KeytarLike | Promise<KeytarLike>;
  /** Where failures are reported (service and account names only, never a secret). */
  log?: (line: string) => void;
}

const loadCommonJs = createRequire(import.meta.url);

function requireKeytar(): KeytarLike {
  // A variable, so the bundler leaves keytar (a native addon) to be loaded from node_modules at run time.
  const specifier = 'keytar';
  const loaded = loadCommonJs(specifier) as KeytarLike & { default?: KeytarLike };
  return loaded.default ?? loaded;
}

function checkedOrigin(origin: string): string {
  if (!serverOriginSchema.safeParse(origin).success) {
    throw new TypeError('keychain: the server must be an http(s) origin such as https://megilance.example.com');
  }
  return origin;
}

function checkedAccount(accountId: string): string {
  if (!accountIdSchema.safeParse(accountId).success) {
    throw new TypeError('keychain: the account must be a user id (letters, digits, - and _, at most 64)');
  }
  return accountId;
}

function checkedToken(token: string): string {
  // The token itself is never echoed, not even in the error.
  if (!refreshTokenSchema.safeParse(token).success) {
    throw new TypeError('keychain: a refresh token must be 1-200 printable ASCII characters');
  }
  return token;
}

/** A `CredentialStore` over keytar. Nothing is loaded until the first call. */
export function createKeychainStore(options: KeychainStoreOptions): CredentialStore {
  const { platform } = options;
  const log = options.log ?? ((line: string) => console.warn(line));
  const load = options.loadKeytar ?? requireKeytar;
  let keytar: Promise<KeytarLike> | undefined;

  const loadOnce = async (): Promise<KeytarLike> => {
    try {
      return await load();
    } catch (error) {
      const detail = messageOf(error);
      log(`keychain: keytar did not load: ${detail}`);
      throw new KeychainUnavailableError(
        'module-unavailable',
        keychainMessage('module-unavailable', platform, detail),
        detail,
      );
    }
  };
  const keytarModule = (): Promise<KeytarLike> => {
    keytar ??= loadOnce();
    return keytar;
  };

  /** Runs one keytar call; what it throws becomes a KeychainUnavailableError (logged with names only). */
  const attempt = async <T>(what: string, call: (keytar: KeytarLike) => Promise<T>): Promise<T> => {
    const api = await keytarModule();
    try {
      return await call(api);
    } catch (error) {
      const unavailable = classifyKeychainError(error, platform);
      log(`keychain: ${what} failed (${unavailable.reason}): ${unavailable.detail}`);
      throw unavailable;
    }
  };

  const check = async (): Promise<void> => {
    const value = randomBytes(12).toString('hex');
    await attempt(`check ${SERVICE_NAME}/${PROBE_ACCOUNT}`, async (keytar) => {
      await keytar.setPassword(SERVICE_NAME, PROBE_ACCOUNT, value);
      await keytar.deletePassword(SERVICE_NAME, PROBE_ACCOUNT);
    });
  };

  return {
    async read(origin, accountId) {
      const service = keychainService(checkedOrigin(origin));
      const account = checkedAccount(accountId);
      return await attempt(`read ${service}/${account}`, (keytar) => keytar.getPassword(service, account));
    },

    async write(origin, accountId, refreshToken) {
      const service = keychainService(checkedOrigin(origin));
      const account = checkedAccount(accountId);
      const token = checkedToken(refreshToken);
      await attempt(`write ${service}/${account}`, (keytar) => keytar.setPassword(service, account, token));
    },

    async remove(origin, accountId) {
      const service = keychainService(checkedOrigin(origin));
      const account = checkedAccount(accountId);
      const deleted = await attempt(`remove ${service}/${account}`, (keytar) =>
        keytar.deletePassword(service, account),
      );
      // A locked collection also answers false: tell "nothing stored" from "could not delete".
      if (!deleted) await check();
      return deleted;
    },

    async listAccounts(origin) {
      const service = keychainService(checkedOrigin(origin));
      // findCredentials crashes on a collection that stays locked; make sure it is not.
      await check();
      const found = await attempt(`list ${service}`, (keytar) => keytar.findCredentials(service));
      return found
        .map(({ account }) => account)
        .filter((account) => accountIdSchema.safeParse(account).success)
        .sort();
    },

    check,
  };
}
