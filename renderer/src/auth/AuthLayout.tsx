/**
 * The frame of the account screens (sign-in, sign-up, verification, password
 * reset): outside the app shell, with the brand, the theme toggle and the
 * server link, so a user can tell a wrong password from a server that is down.
 * A signed-in user is sent on to where they were going.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Outlet, useLocation } from 'react-router';
import { ConnectionIndicator } from '../connection/ConnectionIndicator.tsx';
import { LogoMark } from '../shell/icons.tsx';
import { SkipLink } from '../shell/SkipLink.tsx';
import { ThemeToggle } from '../shell/ThemeToggle.tsx';
import { useFocusHeadingOnNavigation } from '../shell/useFocusHeadingOnNavigation.ts';
import { useAuthState } from './AuthContext.tsx';
import { returnPathFrom } from './returnPath.ts';
import { SessionPending, SessionUnreachable } from './SessionStatus.tsx';

export function AuthLayout() {
  const state = useAuthState();
  const location = useLocation();
  if (state.status === 'signed_in') return <Navigate to={returnPathFrom(location.search)} replace />;
  return (
    <AccountFrame>
      {state.status === 'restoring' ? (
        <SessionPending />
      ) : state.status === 'unreachable' ? (
        <SessionUnreachable error={state.error} />
      ) : (
        <Outlet />
      )}
    </AccountFrame>
  );
}

/** The frame without the app's navigation: brand, theme toggle, content, server link. */
export function AccountFrame({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const mainRef = useRef<HTMLElement>(null);
  useFocusHeadingOnNavigation(mainRef);
  return (
    <div className="account-layout">
      <SkipLink mainRef={mainRef} />
      <header className="account-header">
        <span className="brand">
          <LogoMark />
          {t('app.name')}
        </span>
        <ThemeToggle />
      </header>
      <main id="content" className="account-main" tabIndex={-1} ref={mainRef}>
        {children}
      </main>
      <footer className="account-footer">
        <ConnectionIndicator />
      </footer>
    </div>
  );
}

/** An account screen: its one h1, an optional lead, the window title, in a narrow card. */
export function AccountPage({ title, lead, children }: { title: string; lead?: ReactNode; children?: ReactNode }) {
  const { t } = useTranslation();
  const documentTitle = t('app.documentTitle', { page: title });
  useEffect(() => {
    document.title = documentTitle;
  }, [documentTitle]);
  return (
    <div className="account-card card">
      <h1 className="page-title" tabIndex={-1}>
        {title}
      </h1>
      {lead !== undefined && <p className="lead">{lead}</p>}
      {children}
    </div>
  );
}
