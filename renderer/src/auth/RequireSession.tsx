/**
 * The gate in front of the app: signed-out users go to /sign-in, carrying
 * where they were so they come back there after signing in.
 */
import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuthState } from './AuthContext.tsx';
import { AccountFrame } from './AuthLayout.tsx';
import { SIGN_IN_PATH, signInPathFor } from './returnPath.ts';
import { SessionPending, SessionUnreachable } from './SessionStatus.tsx';

export function RequireSession({ children }: { children: ReactNode }) {
  const state = useAuthState();
  const location = useLocation();
  switch (state.status) {
    case 'restoring':
      return (
        <AccountFrame>
          <SessionPending />
        </AccountFrame>
      );
    case 'unreachable':
      return (
        <AccountFrame>
          <SessionUnreachable error={state.error} />
        </AccountFrame>
      );
    case 'signed_out':
      // Someone who chose to sign out starts afresh; anyone else returns to what they were doing.
      return <Navigate to={state.reason?.kind === 'signed_out' ? SIGN_IN_PATH : signInPathFor(location)} replace />;
    case 'signed_in':
      return children;
  }
}
