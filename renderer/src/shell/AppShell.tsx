/**
 * The frame around every screen: header (brand, the signed-in user, theme
 * toggle), the main navigation, the content region and the status bar with
 * the server link.
 */
import { useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet } from 'react-router';
import { AccountMenu } from '../auth/AccountMenu.tsx';
import { ConnectionIndicator } from '../connection/ConnectionIndicator.tsx';
import { ServerSummary } from '../connection/ServerSummary.tsx';
import { LogoMark } from './icons.tsx';
import { navigation } from './navigation.ts';
import { SkipLink } from './SkipLink.tsx';
import { ThemeToggle } from './ThemeToggle.tsx';
import { useFocusHeadingOnNavigation } from './useFocusHeadingOnNavigation.ts';

export function AppShell() {
  const { t } = useTranslation();
  const mainRef = useRef<HTMLElement>(null);
  useFocusHeadingOnNavigation(mainRef);

  return (
    <div className="shell">
      <SkipLink mainRef={mainRef} />
      <header className="shell-header">
        <span className="brand">
          <LogoMark />
          {t('app.name')}
        </span>
        <div className="header-actions">
          <AccountMenu />
          <ThemeToggle />
        </div>
      </header>
      <nav className="shell-nav" aria-label={t('nav.label')}>
        <ul>
          {navigation.map(({ id, path, Icon }) => (
            <li key={id}>
              <NavLink to={path} className="nav-link">
                <Icon />
                <span className="nav-label">{t(`nav.${id}`)}</span>
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="content" className="shell-main" tabIndex={-1} ref={mainRef}>
        <Outlet />
      </main>
      <footer className="status-bar">
        <ConnectionIndicator />
        <ServerSummary />
      </footer>
    </div>
  );
}
