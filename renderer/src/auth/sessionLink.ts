/**
 * The tRPC link that keeps calls working across access-token expiry: a
 * query or mutation refused as UNAUTHENTICATED, sent with a token, gets one
 * refresh and one retry. If the refresh is refused too, the session has
 * ended (revoked from another device, expired, reused): AuthSession goes
 * signed-out and the router sends the user to /sign-in.
 *
 * Retrying a mutation is safe here: the refusal comes from the
 * authentication check, before the procedure has done anything.
 */
import type { TRPCLink } from '@trpc/client';
import { observable, type Unsubscribable } from '@trpc/server/observable';
import type { AppRouter } from '../../../server/router.ts';

/**
 * Procedures that work without a session and answer UNAUTHENTICATED for
 * their own reasons (a wrong password, an expired challenge, a dead refresh
 * token): refreshing would not help them.
 */
export const sessionlessProcedures: ReadonlySet<string> = new Set([
  'auth.signUp',
  'auth.resendVerification',
  'auth.verifyEmail',
  'auth.signIn',
  'auth.completeSignIn',
  'auth.sendSignInCode',
  'auth.refresh',
  'auth.requestPasswordReset',
  'auth.resetPassword',
]);

/** The server's catalogue code on a tRPC error, if any. */
function appCodeOf(error: unknown): unknown {
  if (typeof error !== 'object' || error === null || !('data' in error)) return undefined;
  const data = error.data;
  return typeof data === 'object' && data !== null && 'appCode' in data ? data.appCode : undefined;
}

/** Whether a failed call is worth one refresh and one retry. */
export function shouldRefreshAndRetry(path: string, error: unknown, sentToken: string | null): boolean {
  return sentToken !== null && !sessionlessProcedures.has(path) && appCodeOf(error) === 'UNAUTHENTICATED';
}

export interface SessionForLink {
  accessToken(): string | null;
  /** Resolves true when a retry may succeed (see AuthSession.recover). */
  recover(sentToken: string | null): Promise<boolean>;
}

export function sessionLink(session: SessionForLink): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) => {
      // Subscriptions authenticate once per WebSocket connection (connectionParams), not per call.
      if (op.type === 'subscription') return next(op);
      return observable((observer) => {
        let current: Unsubscribable | null = null;
        let stopped = false;
        const attempt = (mayRetry: boolean) => {
          const sentToken = session.accessToken();
          current = next(op).subscribe({
            next: (value) => observer.next(value),
            complete: () => observer.complete(),
            error: (error) => {
              if (!mayRetry || !shouldRefreshAndRetry(op.path, error, sentToken)) {
                observer.error(error);
                return;
              }
              session.recover(sentToken).then(
                (retry) => {
                  if (stopped) return;
                  if (retry) attempt(false);
                  else observer.error(error);
                },
                () => observer.error(error),
              );
            },
          });
        };
        attempt(true);
        return () => {
          stopped = true;
          current?.unsubscribe();
        };
      });
    };
}
