/**
 * megilance:// links: `megilance://call/<meetingId>` (a call invite) and
 * `megilance://contract/<contractId>`. The OS hands them to the app:
 * - Windows and Linux: as a command-line argument of a new launch, which the
 *   single-instance lock turns into the running app's `second-instance`
 *   event (or, for the first launch, the app's own argv);
 * - macOS: the `open-url` event (also before the app is ready).
 *
 * A link is parsed strictly (scheme, kind, one UUID, nothing else) and
 * becomes a route of the app (`/calls/<id>`, `/contracts/<id>`) that main
 * asks the page to show; anything else is ignored and logged (without the
 * link's full text: it came from outside).
 *
 * Registration: electron-builder's `protocols` writes it into the installers
 * (Info.plist, the NSIS registry keys, the Linux desktop entry);
 * `registerDeepLinks` also calls `app.setAsDefaultProtocolClient` so a
 * development run (electron .) and a portable copy claim it too.
 *
 * Imports only types from 'electron'.
 */
import { resolve } from 'node:path';
import * as z from 'zod';

export const DEEP_LINK_SCHEME = 'megilance';
const MAX_LINK_LENGTH = 512;

const idSchema = z.uuid();

export type DeepLink =
  { kind: 'call'; meetingId: string; route: string } | { kind: 'contract'; contractId: string; route: string };

export type DeepLinkParse = { ok: true; link: DeepLink } | { ok: false; reason: string };

/** A link's meaning, or why it is refused. */
export function parseDeepLink(raw: string): DeepLinkParse {
  if (raw.length > MAX_LINK_LENGTH) return { ok: false, reason: `longer than ${MAX_LINK_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.protocol !== `${DEEP_LINK_SCHEME}:`) return { ok: false, reason: `not a ${DEEP_LINK_SCHEME}: link` };
  if (url.username !== '' || url.password !== '' || url.port !== '') {
    return { ok: false, reason: 'has a user, password or port' };
  }
  if (url.search !== '' || url.hash !== '') return { ok: false, reason: 'has a query or fragment' };
  // Browsers on Windows may append a slash to what they hand over: one trailing slash is tolerated.
  const match = /^\/([^/]+)\/?$/.exec(url.pathname);
  const id = match?.[1];
  if (id === undefined) return { ok: false, reason: 'must be megilance://<call|contract>/<id>' };
  if (!idSchema.safeParse(id).success) return { ok: false, reason: 'the id is not a UUID' };
  const normalized = id.toLowerCase();
  switch (url.hostname.toLowerCase()) {
    case 'call':
      return { ok: true, link: { kind: 'call', meetingId: normalized, route: `/calls/${normalized}` } };
    case 'contract':
      return { ok: true, link: { kind: 'contract', contractId: normalized, route: `/contracts/${normalized}` } };
    default:
      return { ok: false, reason: 'unknown link kind (expected call or contract)' };
  }
}

/** The megilance:// argument among a launch's arguments (Windows and Linux), if any. */
export function deepLinkArgument(argv: readonly string[]): string | undefined {
  return argv.find((argument) => argument.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}:`));
}

/** What is logged of a refused link: its kind part only (the rest came from outside). */
function describe(raw: string): string {
  return JSON.stringify(raw.slice(0, 40) + (raw.length > 40 ? '…' : ''));
}

/** The parts of Electron's `app` used here. */
export interface DeepLinkApp {
  setAsDefaultProtocolClient(protocol: string, path?: string, args?: string[]): boolean;
  on(event: 'open-url', listener: (event: { preventDefault(): void }, url: string) => void): unknown;
}

export interface DeepLinkOptions {
  app: DeepLinkApp;
  /** `process.defaultApp`: running as `electron path/to/app` (development), not as the packaged executable. */
  defaultApp: boolean;
  execPath: string;
  /** `process.argv` of this (first) launch. */
  argv: readonly string[];
  /** Shows a link's route; called at most once per link. */
  open: (link: DeepLink) => void;
  log?: (line: string) => void;
}

export interface DeepLinks {
  /** Handles a link from anywhere (a second instance's argv, open-url); returns what it opened. */
  handle(raw: string): DeepLink | undefined;
  /** From a second instance's arguments. */
  handleArgv(argv: readonly string[]): DeepLink | undefined;
  /** The link this launch was started with, if any (the window opens on its route). */
  readonly initial: DeepLink | undefined;
}

/**
 * Claims megilance:// and listens for macOS's open-url. Call it before the
 * app is ready (open-url may arrive first); `open` may be called before a
 * window exists, and must cope (desktop-app.ts queues the route).
 */
export function registerDeepLinks(options: DeepLinkOptions): DeepLinks {
  const log = options.log ?? ((line: string) => console.warn(line));
  const registered = options.defaultApp
    ? // `electron .`: the OS must start Electron with the app's folder, then the link.
      options.app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME, options.execPath, [resolve(options.argv[1] ?? '.')])
    : options.app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME);
  if (!registered) log(`deep links: could not register as the ${DEEP_LINK_SCHEME}:// handler`);

  const parse = (raw: string): DeepLink | undefined => {
    const parsed = parseDeepLink(raw);
    if (parsed.ok) return parsed.link;
    log(`deep links: ignored ${describe(raw)}: ${parsed.reason}`);
    return undefined;
  };
  const handle = (raw: string): DeepLink | undefined => {
    const link = parse(raw);
    if (link !== undefined) options.open(link);
    return link;
  };
  const handleArgv = (argv: readonly string[]): DeepLink | undefined => {
    const raw = deepLinkArgument(argv);
    return raw === undefined ? undefined : handle(raw);
  };

  options.app.on('open-url', (event, url) => {
    event.preventDefault();
    handle(url);
  });
  const initialArgument = deepLinkArgument(options.argv);
  const initial = initialArgument === undefined ? undefined : parse(initialArgument);
  return { handle, handleArgv, initial };
}
