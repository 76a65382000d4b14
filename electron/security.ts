/**
 * Every security default of the desktop shell, in one place. The renderer is
 * treated as untrusted: it is sandboxed and isolated, it can only navigate
 * within the app's own origin, it cannot open windows, it gets only the
 * permissions a freelance-marketplace client needs (camera/mic, screen share,
 * notifications) and only for the app's origin, and it can ask main to open
 * https links, nothing else.
 *
 * The decisions are pure functions of a URL and the app origin (tested under
 * Node); `applySecurity` wires them into an Electron session and webContents.
 * Imports only types from 'electron', so it runs without the binary.
 */
import type { BrowserWindowConstructorOptions } from 'electron';
import { contentSecurityPolicyHeader } from '../shared/content-security-policy.ts';
import { DESKTOP_APP_SCHEME, encodeDesktopBootstrap, type DesktopBootstrap } from '../shared/desktop-api.ts';

// ── Origins ────────────────────────────────────────────────────────────────
//
// The app's pages have one origin: the server's (`http://127.0.0.1:<port>`,
// `https://megilance.example.com`) when the window loads the server's pages,
// or `app://megilance` when the packaged renderer is served by main
// (app-protocol.ts). Every rule below compares against that one origin.

/** The origin of an http(s) URL, or undefined for anything else (file:, data:, opaque, unparseable). */
export function httpOriginOf(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  return parsed.origin;
}

/**
 * The origin of a page URL the app may own: http(s) as the URL standard
 * says, and `app://<host>` for the app's privileged scheme (a standard scheme
 * in Chromium, while Node's URL treats it as opaque, so it is spelled out
 * here). Anything else (file:, data:, about:, blob:, other schemes) has none.
 */
export function pageOriginOf(url: string): string | undefined {
  const http = httpOriginOf(url);
  if (http !== undefined) return http;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== `${DESKTOP_APP_SCHEME}:`) return undefined;
  if (parsed.username !== '' || parsed.password !== '' || parsed.port !== '' || parsed.hostname === '') {
    return undefined;
  }
  return `${DESKTOP_APP_SCHEME}://${parsed.hostname.toLowerCase()}`;
}

/** True when `url` belongs to the app: the same origin as `appOrigin` (scheme, host and port). */
export function isAppUrl(url: string, appOrigin: string): boolean {
  const origin = pageOriginOf(url);
  return origin !== undefined && origin === appOrigin;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export type UrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Checks a configured server address (MEGILANCE_SERVER_URL). Plain http is
 * accepted only on this machine; anything that crosses a network must be
 * https. Returns the origin the window will load and trust.
 */
export function checkServerUrl(raw: string): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, reason: `"${raw}" is not a URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: `must be an https:// address (got ${url.protocol})` };
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    return { ok: false, reason: 'plain http:// is only allowed for localhost; use https:// for a remote server' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'must not contain a user name or password' };
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return { ok: false, reason: `must be the server's origin only, e.g. ${url.origin} (no path, query or #)` };
  }
  return { ok: true, url: url.origin };
}

// ── External links ────────────────────────────────────────────────────────

const MAX_EXTERNAL_URL_LENGTH = 2048;

/**
 * Which links main will hand to the OS: https only (no file:, smb:, custom
 * schemes that launch other apps), no user:password@ (phishing and credential
 * leaks), bounded length. Returns the normalised URL to open.
 */
export function checkExternalUrl(raw: string): UrlCheck {
  if (raw.length > MAX_EXTERNAL_URL_LENGTH) {
    return { ok: false, reason: `is longer than ${MAX_EXTERNAL_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'is not a valid URL' };
  }
  if (url.protocol !== 'https:') {
    return { ok: false, reason: `only https: links can be opened (got ${url.protocol})` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'links with a user name or password are not opened' };
  }
  if (url.hostname === '') {
    return { ok: false, reason: 'has no host' };
  }
  return { ok: true, url: url.href };
}

export class ExternalLinkRefusedError extends Error {
  constructor(reason: string) {
    super(`External link refused: the link ${reason}.`);
    this.name = 'ExternalLinkRefusedError';
  }
}

export type OpenExternal = (url: string) => Promise<void>;

/** Validates, then opens through the OS; throws ExternalLinkRefusedError for a refused link. */
export async function openExternalSafely(raw: string, openExternal: OpenExternal): Promise<void> {
  const checked = checkExternalUrl(raw);
  if (!checked.ok) throw new ExternalLinkRefusedError(checked.reason);
  await openExternal(checked.url);
}

// ── Navigation and new windows ────────────────────────────────────────────

/** will-navigate / will-redirect: the window only ever shows the app. */
export function allowNavigation(url: string, appOrigin: string): boolean {
  return isAppUrl(url, appOrigin);
}

export interface WindowOpenDecision {
  action: 'deny';
  /** Set when the target is an https link the OS browser should open instead. */
  openExternally?: string;
}

/** window.open / target=_blank: never a new Electron window; https links go to the browser. */
export function decideWindowOpen(url: string): WindowOpenDecision {
  const checked = checkExternalUrl(url);
  return checked.ok ? { action: 'deny', openExternally: checked.url } : { action: 'deny' };
}

// ── Permissions ───────────────────────────────────────────────────────────

/** Calls need camera/mic and screen share; messages and contract events notify. Nothing else. */
export const GRANTED_PERMISSIONS: ReadonlySet<string> = new Set(['media', 'display-capture', 'notifications']);

/**
 * One rule for permission requests and checks: a granted kind, asked for by
 * a page of the app's own origin. `origins` are every origin Electron names
 * for the request (requesting URL, security origin, embedding origin); all of
 * them must be the app's.
 */
export function allowPermission(
  permission: string,
  origins: readonly (string | undefined)[],
  appOrigin: string,
): boolean {
  if (!GRANTED_PERMISSIONS.has(permission)) return false;
  const named = origins.filter((origin): origin is string => origin !== undefined && origin !== '');
  return named.length > 0 && named.every((origin) => isAppUrl(origin, appOrigin));
}

// ── Content Security Policy ───────────────────────────────────────────────

// The policy itself is shared with the server: shared/content-security-policy.ts.

export interface ResponseDetails {
  url: string;
  resourceType: string;
  responseHeaders?: Record<string, string[]>;
}

/**
 * The response headers for one of the app's own documents, with the policy
 * appended (to an existing header of any case, so both policies hold); or
 * undefined for any other response, which main leaves untouched.
 */
export function withContentSecurityPolicy(
  details: ResponseDetails,
  appOrigin: string,
  policy: string = contentSecurityPolicyHeader(),
): Record<string, string[]> | undefined {
  const isDocument = details.resourceType === 'mainFrame' || details.resourceType === 'subFrame';
  if (!isDocument || !isAppUrl(details.url, appOrigin)) return undefined;
  const headers = { ...details.responseHeaders };
  const existing = Object.keys(headers).find((name) => name.toLowerCase() === 'content-security-policy');
  if (existing === undefined) {
    headers['Content-Security-Policy'] = [policy];
  } else {
    const values = headers[existing] ?? [];
    headers[existing] = values.includes(policy) ? values : [...values, policy];
  }
  return headers;
}

// ── The window ────────────────────────────────────────────────────────────

export interface MainWindowSettings {
  /** Absolute path of the bundled preload (dist/electron/preload.cjs). */
  preloadPath: string;
  bootstrap: DesktopBootstrap;
  /** Where the window was last (window-state.ts), already fitted to a display; default: centred, 1280×820. */
  bounds?: { x?: number; y?: number; width: number; height: number };
}

/** The secure webPreferences every MegiLance window uses. */
export function secureWebPreferences(
  settings: MainWindowSettings,
): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload: settings.preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: true,
    additionalArguments: [encodeDesktopBootstrap(settings.bootstrap)],
  };
}

export function mainWindowOptions(settings: MainWindowSettings): BrowserWindowConstructorOptions {
  return {
    title: 'MegiLance',
    width: 1280,
    height: 820,
    ...settings.bounds,
    minWidth: 900,
    minHeight: 600,
    // Shown on 'ready-to-show', so the user never sees a blank frame.
    show: false,
    webPreferences: secureWebPreferences(settings),
  };
}

// ── Wiring ─────────────────────────────────────────────────────────────────

interface PreventableEvent {
  preventDefault(): void;
}

/** The parts of Electron's WebContents this file uses (a real WebContents fits). */
export interface SecurableWebContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: PreventableEvent & { url: string }) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface PermissionRequestDetails {
  requestingUrl?: string;
}

export interface PermissionCheckDetails {
  requestingUrl?: string;
  securityOrigin?: string;
  embeddingOrigin?: string;
}

/** The parts of Electron's Session this file uses (a real Session fits). */
export interface SecurableSession {
  setPermissionRequestHandler(
    handler: (
      webContents: unknown,
      permission: string,
      callback: (granted: boolean) => void,
      details: PermissionRequestDetails,
    ) => void,
  ): void;
  setPermissionCheckHandler(
    handler: (
      webContents: unknown,
      permission: string,
      requestingOrigin: string,
      details: PermissionCheckDetails,
    ) => boolean,
  ): void;
  setDevicePermissionHandler(handler: (details: unknown) => boolean): void;
  webRequest: {
    onHeadersReceived(
      listener: (
        details: ResponseDetails,
        callback: (response: { responseHeaders?: Record<string, string[]> }) => void,
      ) => void,
    ): void;
  };
}

export interface SecurityOptions {
  appOrigin: string;
  openExternal: OpenExternal;
  /** Where refused or failed link openings are reported (default: console.warn). */
  warn?: (message: string) => void;
}

/** Navigation lock, no new windows, no <webview>: for every webContents the app creates. */
export function lockWebContents(contents: SecurableWebContents, options: SecurityOptions): void {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const lock = (event: PreventableEvent & { url: string }): void => {
    if (!allowNavigation(event.url, options.appOrigin)) {
      event.preventDefault();
      warn(`Blocked navigation away from the app to ${event.url}`);
    }
  };
  contents.on('will-navigate', lock);
  contents.on('will-redirect', lock);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const decision = decideWindowOpen(url);
    if (decision.openExternally === undefined) {
      warn(`Blocked a new window for ${url}`);
    } else {
      options
        .openExternal(decision.openExternally)
        .catch((error: unknown) => warn(`Could not open ${url}: ${String(error)}`));
    }
    return { action: 'deny' };
  });
}

/**
 * Permission handlers and the CSP header, for the session the app's windows
 * use. `contentSecurityPolicy` is the header value for the app's documents
 * (default: the server's policy; pages on app:// also need the server's
 * origin in connect-src, see app-protocol.ts).
 */
export function secureSession(
  session: SecurableSession,
  appOrigin: string,
  contentSecurityPolicy: string = contentSecurityPolicyHeader(),
): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(allowPermission(permission, [details.requestingUrl], appOrigin));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    allowPermission(permission, [requestingOrigin, details.securityOrigin, details.embeddingOrigin], appOrigin),
  );
  // WebHID, WebUSB, Web Serial: not used by the app, never granted.
  session.setDevicePermissionHandler(() => false);
  session.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = withContentSecurityPolicy(details, appOrigin, contentSecurityPolicy);
    callback(responseHeaders === undefined ? {} : { responseHeaders });
  });
}

export function applySecurity(
  session: SecurableSession,
  webContents: SecurableWebContents,
  options: SecurityOptions,
): void {
  secureSession(session, options.appOrigin);
  lockWebContents(webContents, options);
}
