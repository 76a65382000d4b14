/**
 * The gate in front of the app: signed-out users go to /sign-in, carrying
 * where they were so they come back there after signing in. When the server
 * cannot be reached but the desktop app has this account's saved data (its
 * profile came back from the local cache), the app opens on that data, with
 * a banner saying so, instead of a dead end.
 */
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useTRPC } from '../api/trpc.ts';
import { Navigate, useLocation } from 'react-router';
import { useAuthState } from './AuthContext.tsx';
import { AccountFrame } from './AuthLayout.tsx';
import { SIGN_IN_PATH, signInPathFor } from './returnPath.ts';
import { SessionPending, SessionUnreachable } from './SessionStatus.tsx';

export function RequireSession({ children }: { children: ReactNode }) {
  const state = useAuthState();
  const location = useLocation();
  const trpc = useTRPC();
  // Read only from the query cache (filled from the desktop's local cache): never fetched from here.
  const saved = useQuery({ ...trpc.auth.me.queryOptions(), enabled: false });
  switch (state.status) {
    case 'restoring':
      return (
        <AccountFrame>
          <SessionPending />
        </AccountFrame>
      );
    case 'unreachable':
      if (saved.data !== undefined) return <OfflineView>{children}</OfflineView>;
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

function OfflineView({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <>
      <p className="offline-banner" role="status">
        {t('account.offline')}
      </p>
      {children}
    </>
  );
}
