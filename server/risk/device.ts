/**
 * Which device a sign-in comes from: a label a person recognises ("Chrome
 * 156 on Linux", "MegiLance Desktop 0.1.0 on macOS") and a fingerprint the
 * risk engine compares with the account's known devices.
 *
 * ## What the fingerprint is made of, and why
 *
 * **Desktop app: the per-install id alone.** The app creates a random id
 * once per install and keeps it in the OS keychain. It is the best signal
 * there is: unique, stable across app updates (which change the Electron
 * and Chromium versions in the User-Agent), and unknown to anyone who has
 * only the password. Nothing else is mixed in, so an app update or a new
 * monitor never makes a known install look new.
 *
 * **Browsers: stable attributes that separate one person's devices** —
 * - browser family (Chrome, Firefox, Mobile Safari…), OS name and device
 *   type (desktop/mobile/tablet), from the User-Agent;
 * - primary language (`en` of `en-US,en;q=0.9`): set once per browser;
 * - time zone (IANA name the page reports): tells apart two otherwise
 *   identical laptops in different places; it changes when a browser user
 *   travels across zones, which is worth a second factor anyway;
 * - screen class (`handheld` below 1000 CSS px on the long side, else
 *   `desktop`): coarse on purpose, because the exact resolution changes
 *   whenever a laptop is docked.
 *
 * The browser's **major version is left out** (it is in the label): Chrome,
 * Edge and Firefox ship a major version every four weeks, and counting it
 * would make every known browser "new" after each automatic update — a
 * monthly second-factor prompt that teaches users to approve them blindly.
 * Nothing here is secret: a browser fingerprint only tells a returning
 * device from a new one, it never proves who is signing in.
 *
 * The fingerprint is a SHA-256 of those values (prefixed `install:` or
 * `browser:`), so the raw install id is never stored: a database leak does
 * not hand out ids that would make an attacker's device look known.
 */
import { createHash } from 'node:crypto';
import { UAParser } from 'ua-parser-js';

/** What the server knows about the client: headers plus what the client reports (shared/accounts.ts `ClientDevice`). */
export interface ClientAttributes {
  userAgent: string;
  /** The desktop app's per-install id, when it sends one. */
  installId?: string | undefined;
  /** The desktop app's version, when it reports it (used when the User-Agent lacks it). */
  appVersion?: string | undefined;
  /** The `Accept-Language` header. */
  acceptLanguage?: string | undefined;
  /** The language the client reports (`navigator.language`); preferred over `acceptLanguage`. */
  language?: string | undefined;
  /** IANA time zone the client reports, e.g. `Europe/Berlin`. */
  timezone?: string | undefined;
  /** Screen size in CSS px, `1920x1080` (a `@2` pixel ratio suffix is allowed and ignored). */
  screen?: string | undefined;
}

export type DeviceKind = 'desktop_app' | 'browser' | 'unknown';

export interface DeviceIdentity {
  /** `install:<hash>` for the desktop app with an install id, else `browser:<hash>`. */
  fingerprint: string;
  /** What the user reads: `Chrome 156 on Linux`. */
  label: string;
  kind: DeviceKind;
  /** The operating system's name (`macOS`, `Windows`, `Linux`…), or `Unknown`. */
  platform: string;
  /** The desktop app's version, when it is the desktop app. */
  appVersion: string | null;
}

/** The Electron app's User-Agent carries `MegiLance/<version>` (Electron inserts the app's name and version). */
const DESKTOP_APP_TOKEN = /\bMegiLance\/(\d+(?:\.\d+){0,3}(?:-[\w.]+)?)/i;

interface ParsedAgent {
  browser: string | null;
  major: string | null;
  os: string | null;
  deviceType: string;
  model: string | null;
  appVersion: string | null;
}

function parseAgent(userAgent: string): ParsedAgent {
  const result = UAParser(userAgent);
  return {
    browser: result.browser.name ?? null,
    major: result.browser.major ?? null,
    os: result.os.name ?? null,
    deviceType: result.device.type ?? 'desktop',
    model: result.device.model ?? null,
    appVersion: DESKTOP_APP_TOKEN.exec(userAgent)?.[1] ?? null,
  };
}

/** `app` is set when the request comes from the desktop app (its version may be unknown). */
function labelFor(agent: ParsedAgent, app: { version: string | null } | null): string {
  const where = agent.os;
  // A phone or tablet is better known by its model: "on iOS (iPhone)".
  const model =
    agent.model !== null && (agent.deviceType === 'mobile' || agent.deviceType === 'tablet') ? ` (${agent.model})` : '';
  const on = where === null ? '' : ` on ${where}${model}`;
  if (app !== null) return `MegiLance Desktop${app.version === null ? '' : ` ${app.version}`}${on}`;
  if (agent.browser === null) return where === null ? 'Unknown device' : `Unknown browser${on}`;
  // "Mobile Safari 17 on iOS" reads better as "Safari 17 on iOS (iPhone)".
  const browser = agent.browser.replace(/^Mobile /, '');
  return `${browser}${agent.major === null ? '' : ` ${agent.major}`}${on}`;
}

/** A label for a User-Agent alone (what older records or other services may have). */
export function deviceLabel(userAgent: string): string {
  const agent = parseAgent(userAgent);
  return labelFor(agent, agent.appVersion === null ? null : { version: agent.appVersion });
}

function primaryLanguage(client: ClientAttributes): string {
  const first = (client.language ?? client.acceptLanguage ?? '').split(',')[0] ?? '';
  return (first.split(';')[0] ?? '').trim().split(/[-_]/)[0]?.toLowerCase() ?? '';
}

function screenClass(screen: string | undefined): string {
  const match = /^\s*(\d{2,5})\s*[x×]\s*(\d{2,5})/i.exec(screen ?? '');
  if (match === null) return '';
  return Math.max(Number(match[1]), Number(match[2])) < 1000 ? 'handheld' : 'desktop';
}

function digest(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url');
}

/** Label, fingerprint and platform of the device a request comes from. */
export function identifyDevice(client: ClientAttributes): DeviceIdentity {
  const agent = parseAgent(client.userAgent);
  const installId = client.installId?.trim() ?? '';
  // Only the app sends an install id; trust its reported version when the User-Agent lacks one.
  const reportedVersion = installId === '' ? '' : (client.appVersion?.trim() ?? '');
  const appVersion = agent.appVersion ?? (reportedVersion === '' ? null : reportedVersion);
  const kind: DeviceKind =
    appVersion !== null || installId !== '' ? 'desktop_app' : agent.browser === null ? 'unknown' : 'browser';
  const fingerprint =
    installId !== ''
      ? `install:${digest(['install-v1', installId])}`
      : `browser:${digest([
          'browser-v1',
          (agent.browser ?? '').toLowerCase(),
          (agent.os ?? '').toLowerCase(),
          agent.deviceType,
          primaryLanguage(client),
          client.timezone?.trim() ?? '',
          screenClass(client.screen),
        ])}`;
  const label = labelFor(agent, kind === 'desktop_app' ? { version: appVersion } : null);
  return { fingerprint, label, kind, platform: agent.os ?? 'Unknown', appVersion };
}
