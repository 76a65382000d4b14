/**
 * What the API clients need of a guest by link: only the guest token, kept in
 * memory for this page's life (never in storage, never the keychain). There is
 * nothing to refresh: a guest whose token lapses opens the link again.
 */
import type { ApiSession } from '../api/trpc.ts';

export function guestSession(guestToken: string): ApiSession {
  return {
    accessToken: () => guestToken,
    recover: () => Promise.resolve(false),
    sessionId: () => null,
    signedOut: () => {},
    settled: () => Promise.resolve(),
  };
}
