/**
 * An access grant: the short-lived access token the server answered with,
 * kept in memory only (never in localStorage or sessionStorage, where any
 * script on the origin could read it after the page is gone), and when to
 * exchange it for a fresh one.
 */
import type { IssuedTokens } from '../../../shared/accounts.ts';

export interface AccessGrant {
  accessToken: string;
  accessExpiresAt: Date;
  sessionId: string;
}

/** The part of the server's tokens answer a browser keeps (its refresh token is in an httpOnly cookie). */
export function grantOf(tokens: Pick<IssuedTokens, 'accessToken' | 'accessExpiresAt' | 'sessionId'>): AccessGrant {
  return { accessToken: tokens.accessToken, accessExpiresAt: tokens.accessExpiresAt, sessionId: tokens.sessionId };
}

/** Refresh this long before expiry at most (one minute of a 15-minute token)… */
export const MAX_REFRESH_LEAD_MS = 60_000;
/** …and at least this share of the time left, so short tokens (1 minute) still refresh in time. */
const REFRESH_LEAD_SHARE = 0.2;
/**
 * Never sooner than this. Expiry is the server's clock and the wait is the
 * client's: with a clock running far ahead, a token can look expired on
 * arrival. Without a floor that would refresh in a tight loop; with it, at
 * worst once per floor, and any request made with an expired token is
 * refreshed and retried anyway (sessionLink.ts).
 */
export const MIN_REFRESH_DELAY_MS = 15_000;

/** How long to wait before refreshing a grant that expires at `expiresAt` (both epoch ms). */
export function refreshDelayMs(expiresAt: number, now: number): number {
  const remaining = expiresAt - now;
  const lead = Math.min(MAX_REFRESH_LEAD_MS, Math.max(0, remaining) * REFRESH_LEAD_SHARE);
  return Math.max(MIN_REFRESH_DELAY_MS, Math.round(remaining - lead));
}

/** Wait before the n-th retry (0-based) of a refresh that could not reach the server. */
export function refreshRetryDelayMs(attempt: number): number {
  return Math.min(2_000 * 2 ** Math.max(0, attempt), 30_000);
}
