/**
 * Where to send a user after signing in: back to the screen they asked for.
 * The destination travels in the sign-in URL (`/sign-in?next=/security`),
 * so it is attacker-controlled input: only a path inside this app is
 * accepted, never another origin (`//evil.example`, `https:…`), and never an
 * account screen (which would loop).
 */
import { HOME_PATH } from '../shell/paths.ts';
import { accountRoutes } from './accountRoutes.ts';

export const SIGN_IN_PATH = accountRoutes.signIn;
export const NEXT_PARAM = 'next';

/** Screens for signed-out users are no place to return to (it would loop). */
function isAccountPath(pathname: string): boolean {
  return Object.values(accountRoutes).some((path) => pathname === path || pathname.startsWith(`${path}/`));
}

/** A same-app path from untrusted input, or null. */
export function safeReturnPath(candidate: string | null | undefined): string | null {
  if (candidate === null || candidate === undefined || !candidate.startsWith('/') || candidate.startsWith('//')) {
    return null;
  }
  // Browsers read "/\evil.example" as "//evil.example"; control characters are never legitimate.
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\\\u0000-\u001f\u007f]/.test(candidate)) return null;
  const base = 'http://app.invalid';
  let url: URL;
  try {
    url = new URL(candidate, base);
  } catch {
    return null;
  }
  if (url.origin !== base || isAccountPath(url.pathname)) return null;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The screen to show after signing in, from the current account screen's query string. */
export function returnPathFrom(search: string): string {
  return safeReturnPath(new URLSearchParams(search).get(NEXT_PARAM)) ?? HOME_PATH;
}

/** `/sign-in?next=…` for a signed-out user who asked for `location`. */
export function signInPathFor(location: { pathname: string; search: string; hash: string }): string {
  const next = safeReturnPath(`${location.pathname}${location.search}${location.hash}`);
  return withReturnPath(SIGN_IN_PATH, next);
}

/** An account screen's path carrying the return path along (sign-in → verify → back to where the user was). */
export function withReturnPath(path: string, next: string | null): string {
  if (next === null || next === HOME_PATH || next === '/') return path;
  return `${path}?${new URLSearchParams({ [NEXT_PARAM]: next }).toString()}`;
}

/** The return path carried by the current account screen, or null. */
export function carriedReturnPath(search: string): string | null {
  return safeReturnPath(new URLSearchParams(search).get(NEXT_PARAM));
}
