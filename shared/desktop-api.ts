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
