/**
 * The contract between the desktop shell and the renderer: the type of the
 * one object the preload exposes as `window.megilance`, and the zod schemas
 * main parses every IPC payload with. The renderer must treat the object as
 * optional (the same UI runs in a plain browser, where it is absent).
 *
 * Runs everywhere: no Node, DOM or Electron imports here.
 */
import * as z from 'zod';
import { baseVersionSchema, removeDraftInput, saveDraftInput } from './drafts.ts';

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
  /**
   * Network failure, timeout or a server error; the stored token is kept, try again later. `accountId`:
   * whose sign-in is stored (main opens that account's offline data, so the app can show it meanwhile).
   */
  | { readonly status: 'server-unavailable'; readonly message: string; readonly accountId?: string };

/** `credentials.forget()`: false with the problem when the keychain could not delete the token. */
export type CredentialsForgetResult = { readonly forgotten: true } | ({ readonly forgotten: false } & KeychainProblem);

// ── The packaged renderer's origin (electron/app-protocol.ts) ───────────────

/**
 * The packaged app serves its renderer from this privileged, secure custom
 * scheme (not file://): a real origin, so WebCrypto, media permissions and
 * tldraw's licence check work. Its pages call the server cross-origin.
 */
export const DESKTOP_APP_SCHEME = 'app';
export const DESKTOP_APP_HOST = 'megilance';
export const DESKTOP_APP_ORIGIN = `${DESKTOP_APP_SCHEME}://${DESKTOP_APP_HOST}`;

/**
 * What the server must answer for the packaged desktop app's pages
 * (origin `app://megilance`) to call `/trpc` over HTTP: a CORS allowance for
 * exactly this origin. No cookies cross (the desktop keeps its refresh token
 * in the OS keychain and sends a bearer token), so no `Allow-Credentials`.
 * Main checks for it at launch (electron/app-protocol.ts,
 * `serverAllowsAppOrigin`) and falls back to loading the server's own pages
 * when it is missing.
 */
export const desktopAppCors = {
  origin: DESKTOP_APP_ORIGIN,
  methods: ['GET', 'POST'],
  headers: ['authorization', 'content-type', 'x-megilance-client'],
  maxAgeSeconds: 600,
} as const;

// ── Local cache and outbox (electron/cache/, electron/offline-data.ts) ─────

/** electron/cache/kinds.ts's record kinds, restated (shared/ imports nothing from electron/; main checks they agree). */
export const desktopCacheKinds = [
  'profile',
  'draft',
  'job',
  'proposal',
  'contract',
  'milestone',
  'thread',
  'message',
  'call',
] as const;
export const desktopCacheKindSchema = z.enum(desktopCacheKinds);
export type DesktopCacheKind = z.infer<typeof desktopCacheKindSchema>;

/** Largest JSON (in UTF-16 code units) one cache write may carry over IPC. */
export const DESKTOP_CACHE_WRITE_MAX_CHARS = 8_000_000;
const MAX_RECORDS_PER_WRITE = 1_000;

const cacheRecordId = z.string().min(1).max(256);
const epochMsSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const jsonObjectSchema = z.record(z.string(), z.json());
const cacheCollectionRefSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,511}$/, 'must be a collection name such as drafts or thread:<id>:messages'),
  kind: desktopCacheKindSchema,
});
const cacheRecordRefSchema = z.strictObject({ kind: desktopCacheKindSchema, id: cacheRecordId });
const cacheCursorSchema = z.strictObject({ sortKey: z.number(), id: cacheRecordId });
const cacheRecordWriteSchema = z.strictObject({
  kind: desktopCacheKindSchema,
  id: cacheRecordId,
  payload: jsonObjectSchema,
  serverUpdatedAt: epochMsSchema.nullable().optional(),
});

/** A write whose JSON is larger than the IPC limit is refused as a whole. */
const withinWriteLimit = <T extends z.ZodType>(schema: T) =>
  schema.refine((value) => JSON.stringify(value).length <= DESKTOP_CACHE_WRITE_MAX_CHARS, {
    message: `is larger than ${DESKTOP_CACHE_WRITE_MAX_CHARS} characters of JSON`,
  });

export const cacheGetRecordInputSchema = cacheRecordRefSchema;
export const cacheReadCollectionInputSchema = z.strictObject({
  collection: cacheCollectionRefSchema,
  limit: z.number().int().min(1).max(1_000),
  before: cacheCursorSchema.optional(),
});
export const cachePutRecordsInputSchema = withinWriteLimit(
  z.strictObject({
    records: z.array(cacheRecordWriteSchema).max(MAX_RECORDS_PER_WRITE),
    keepLocalChanges: z.boolean().optional(),
  }),
);
export const cacheWriteCollectionInputSchema = withinWriteLimit(
  z.strictObject({
    collection: cacheCollectionRefSchema,
    items: z
      .array(
        z.strictObject({
          id: cacheRecordId,
          payload: jsonObjectSchema,
          serverUpdatedAt: epochMsSchema.nullable().optional(),
          sortKey: z.number(),
        }),
      )
      .max(MAX_RECORDS_PER_WRITE),
    range: z.enum(['all', 'newest', 'older']),
    complete: z.boolean().optional(),
    readBack: z.number().int().min(0).max(1_000).optional(),
  }),
);
export const cacheClearInputSchema = z.strictObject({ includeOutbox: z.boolean() });

export type CacheGetRecordInput = z.input<typeof cacheGetRecordInputSchema>;
export type CacheReadCollectionInput = z.input<typeof cacheReadCollectionInputSchema>;
export type CachePutRecordsInput = z.input<typeof cachePutRecordsInputSchema>;
export type CacheWriteCollectionInput = z.input<typeof cacheWriteCollectionInputSchema>;
export type CacheClearInput = z.input<typeof cacheClearInputSchema>;

/** A cached record as the renderer gets it (instants are epoch ms). */
export interface DesktopCachedRecord {
  readonly kind: DesktopCacheKind;
  readonly id: string;
  readonly payload: Record<string, unknown>;
  readonly serverUpdatedAt: number | null;
  readonly fetchedAt: number;
  /** Unsent outbox writes change this record: the payload holds changes the server has not seen. */
  readonly hasLocalChanges: boolean;
}

export interface DesktopCollectionPage {
  readonly collection: string;
  readonly kind: DesktopCacheKind;
  readonly fetchedAt: number | null;
  readonly complete: boolean;
  readonly items: readonly (DesktopCachedRecord & { readonly sortKey: number })[];
  readonly nextCursor: { readonly sortKey: number; readonly id: string } | null;
}

/**
 * `cache.stats()`: the signed-in account's cache on this machine, or why
 * there is none (`signed-out`: nobody is signed in; `unavailable`: it could
 * not be opened, with the reason).
 */
export type DesktopCacheStats =
  | {
      readonly open: true;
      readonly bytes: number;
      readonly records: number;
      readonly recordsByKind: Readonly<Partial<Record<DesktopCacheKind, number>>>;
      readonly collections: number;
      readonly outbox: { readonly pending: number; readonly conflict: number; readonly failed: number };
    }
  | { readonly open: false; readonly reason: 'signed-out' | 'unavailable'; readonly message?: string };

/** `cache.clear()`: records removed and unsent writes kept; `cleared: false` when no cache is open. */
export type DesktopCacheClearResult =
  | { readonly cleared: true; readonly records: number; readonly outboxKept: number }
  | { readonly cleared: false; readonly reason: 'signed-out' | 'unavailable' };

/** The outbox's writes, with their input schemas (the same the server parses, minus what the outbox adds). */
export const desktopOutboxProcedures = ['drafts.save', 'drafts.remove'] as const;
export type DesktopOutboxProcedure = (typeof desktopOutboxProcedures)[number];

const localChangeSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('put'),
    record: cacheRecordWriteSchema,
    addTo: z
      .array(z.strictObject({ collection: cacheCollectionRefSchema, sortKey: z.number() }))
      .max(100)
      .optional(),
  }),
  z.strictObject({ type: z.literal('remove'), ref: cacheRecordRefSchema }),
]);

export const outboxEnqueueInputSchema = withinWriteLimit(
  z.discriminatedUnion('procedure', [
    z.strictObject({
      procedure: z.literal('drafts.save'),
      input: z.strictObject(saveDraftInput.omit({ baseVersion: true, idempotencyKey: true }).shape),
      baseVersion: baseVersionSchema,
      localChange: localChangeSchema.optional(),
    }),
    z.strictObject({
      procedure: z.literal('drafts.remove'),
      input: z.strictObject(removeDraftInput.omit({ baseVersion: true, idempotencyKey: true }).shape),
      baseVersion: baseVersionSchema.optional(),
      localChange: localChangeSchema.optional(),
    }),
  ]),
);
export type OutboxEnqueueInput = z.input<typeof outboxEnqueueInputSchema>;

export const outboxItemIdSchema = z.uuid();

/** A queued write as the renderer sees it. */
export interface DesktopOutboxItem {
  readonly id: string;
  readonly seq: number;
  readonly procedure: DesktopOutboxProcedure;
  readonly input: Readonly<Record<string, unknown>>;
  readonly entity: { readonly kind: DesktopCacheKind; readonly id: string } | null;
  readonly baseVersion: number | null;
  readonly status: 'pending' | 'conflict' | 'failed';
  readonly attempts: number;
  readonly lastError: string | null;
  /** For conflicts and failures: the server's message and details (a conflict's `currentVersion`). */
  readonly problem: {
    readonly message: string;
    readonly details: Readonly<Record<string, string | number | boolean>>;
  } | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * `outbox.state()` and `onOutboxState`: writes waiting to be sent, the ones
 * needing the user (conflicts, failures), and whether sending is held (and
 * why). `available: false` when no account's cache is open.
 */
export type DesktopOutboxState =
  | {
      readonly available: true;
      readonly waiting: number;
      readonly conflicts: readonly DesktopOutboxItem[];
      readonly failed: readonly DesktopOutboxItem[];
      readonly sending: DesktopOutboxItem | null;
      readonly replaying: boolean;
      readonly held: {
        readonly reason: 'unreachable' | 'unavailable' | 'unauthenticated';
        readonly message: string;
        readonly retryAt: number | null;
      } | null;
    }
  | { readonly available: false };

export interface DesktopReplayReport {
  readonly applied: number;
  readonly conflicts: number;
  readonly failed: number;
  readonly waiting: number;
}

// ── OS integration (electron/notifications.ts, tray.ts, updates.ts, deep-links.ts) ──

/**
 * A route inside the app (`/calls/<id>`, `/settings`): a path from the root,
 * no scheme, no host, no `//`, no `..`, an optional simple query.
 */
export const appRouteSchema = z
  .string()
  .max(512)
  .regex(/^\/(?!\/)[A-Za-z0-9\-._~/]*(\?[A-Za-z0-9\-._~=&%]*)?$/, 'must be a path inside the app, such as /calls/<id>')
  .refine((route) => !route.split(/[/?]/).includes('..'), { message: 'must not contain ".." segments' });

export const NOTIFICATION_TITLE_MAX = 120;
export const NOTIFICATION_BODY_MAX = 500;

export const notificationInputSchema = z.strictObject({
  title: z.string().trim().min(1).max(NOTIFICATION_TITLE_MAX),
  body: z.string().max(NOTIFICATION_BODY_MAX),
  kind: z.enum(['message', 'call', 'contract']),
  /** Where a click takes the user. */
  route: appRouteSchema,
});
export type NotificationInput = z.input<typeof notificationInputSchema>;

/** `shown: false` when the window has focus (the page shows it itself) or the OS has no notifications. */
export type DesktopNotificationResult =
  { readonly shown: true } | { readonly shown: false; readonly reason: 'window-focused' | 'unsupported' };

export const UNREAD_COUNT_MAX = 9_999;
export const unreadCountSchema = z.number().int().min(0).max(UNREAD_COUNT_MAX);

/**
 * `updates.status()`. `off` with why: `development` (not a packaged app),
 * `not-configured` (the build's MEGILANCE_UPDATE_URL was empty or not https),
 * `no-feed` (no app-update.yml), `unsupported` (this kind of install cannot
 * update itself).
 */
export type DesktopUpdateStatus =
  | { readonly state: 'off'; readonly reason: 'development' | 'not-configured' | 'no-feed' | 'unsupported' }
  | {
      readonly state: 'idle' | 'checking' | 'up-to-date' | 'downloading' | 'downloaded' | 'error';
      readonly feedUrl: string;
      readonly version: string | null;
      readonly percent: number | null;
      readonly message: string | null;
      readonly lastCheckedAt: number | null;
    };

/** A screen or window the user may share (desktopCapturer's sources, as the picker shows them). */
export interface ScreenPickerSource {
  id: string;
  name: string;
  kind: 'screen' | 'window';
  /** A small picture of it (a data: URL), or null. */
  thumbnail: string | null;
}

/** Main's question to the page when it calls getDisplayMedia: which of these to share. */
export interface ScreenPickerRequest {
  requestId: string;
  sources: ScreenPickerSource[];
}

export const screenPickerRequestSchema = z.strictObject({
  requestId: z.uuid(),
  sources: z
    .array(
      z.strictObject({
        id: z.string().min(1).max(256),
        name: z.string().max(200),
        kind: z.enum(['screen', 'window']),
        thumbnail: z.string().startsWith('data:image/').max(200_000).nullable(),
      }),
    )
    .max(100),
});

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
  cache: {
    stats: z.tuple([]),
    clear: z.tuple([cacheClearInputSchema]),
    getRecord: z.tuple([cacheGetRecordInputSchema]),
    readCollection: z.tuple([cacheReadCollectionInputSchema]),
    putRecords: z.tuple([cachePutRecordsInputSchema]),
    writeCollection: z.tuple([cacheWriteCollectionInputSchema]),
  },
  outbox: {
    state: z.tuple([]),
    enqueue: z.tuple([outboxEnqueueInputSchema]),
    replay: z.tuple([]),
    keepMine: z.tuple([outboxItemIdSchema]),
    takeTheirs: z.tuple([outboxItemIdSchema]),
    retryFailed: z.tuple([outboxItemIdSchema]),
    discard: z.tuple([outboxItemIdSchema]),
  },
  notifications: {
    show: z.tuple([notificationInputSchema]),
  },
  tray: {
    setUnreadCount: z.tuple([unreadCountSchema]),
  },
  updates: {
    status: z.tuple([]),
  },
  screenPicker: {
    choose: z.tuple([z.strictObject({ requestId: z.uuid(), sourceId: z.string().min(1).max(256).nullable() })]),
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
  /**
   * The signed-in account's local cache (a SQLite file per server and
   * account, opened by main when the account is known, deleted on sign-out).
   */
  readonly cache: {
    stats(): Promise<DesktopCacheStats>;
    /** Settings → "Clear offline data": unsent changes stay unless `includeOutbox`. */
    clear(input: CacheClearInput): Promise<DesktopCacheClearResult>;
    getRecord(input: CacheGetRecordInput): Promise<DesktopCachedRecord | null>;
    readCollection(input: CacheReadCollectionInput): Promise<DesktopCollectionPage | null>;
    putRecords(input: CachePutRecordsInput): Promise<{ written: number; keptLocal: number } | null>;
    writeCollection(
      input: CacheWriteCollectionInput,
    ): Promise<{ written: number; removed: number; keptLocal: number; page: DesktopCollectionPage | null } | null>;
  };
  /** Changes made offline, sent in order by main when the server is reachable. */
  readonly outbox: {
    state(): Promise<DesktopOutboxState>;
    /** Resolves once the change is on disk. */
    enqueue(input: OutboxEnqueueInput): Promise<DesktopOutboxItem>;
    /** Try sending now (e.g. after the connection came back). */
    replay(): Promise<DesktopReplayReport | null>;
    /** A conflict: send mine on top of the server's version. */
    keepMine(id: string): Promise<DesktopOutboxItem>;
    /** A conflict: keep the server's version; this change and later ones on the same item are dropped. */
    takeTheirs(id: string): Promise<readonly string[]>;
    retryFailed(id: string): Promise<DesktopOutboxItem>;
    discard(id: string): Promise<readonly string[]>;
  };
  /** Native notifications, shown only while the window is not focused; a click opens `route`. */
  readonly notifications: {
    show(input: NotificationInput): Promise<DesktopNotificationResult>;
  };
  /** The tray icon's unread count (and the dock badge on macOS). */
  readonly tray: {
    setUnreadCount(count: number): Promise<void>;
  };
  readonly updates: {
    status(): Promise<DesktopUpdateStatus>;
  };
  /** The answer to an `onScreenPickerRequest`: the chosen screen or window, or null (cancelled). */
  readonly screenPicker: {
    choose(input: { requestId: string; sourceId: string | null }): Promise<{ accepted: boolean }>;
  };
  /** Main asks the page to let the user pick what to share (the page called getDisplayMedia). Returns the unsubscribe. */
  onScreenPickerRequest(listener: (request: ScreenPickerRequest) => void): () => void;
  /** Main asks the page to show a route (a megilance:// link, a notification click). Returns the unsubscribe. */
  onNavigate(listener: (route: string) => void): () => void;
  /** Every change of the outbox's state. Returns the unsubscribe. */
  onOutboxState(listener: (state: DesktopOutboxState) => void): () => void;
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
