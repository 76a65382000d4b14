/**
 * The frame around every screen: header (brand, theme toggle), the main
 * navigation, the content region and the status bar with the server link.
 */
import { useEffect, useRef, type MouseEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet, useLocation } from 'react-router';
import { ConnectionIndicator } from '../connection/ConnectionIndicator.tsx';
import { ServerSummary } from '../connection/ServerSummary.tsx';
import { LogoMark } from './icons.tsx';
import { navigation } from './navigation.ts';
import { ThemeToggle } from './ThemeToggle.tsx';

export function AppShell() {
  const { t } = useTranslation();
  const mainRef = useRef<HTMLElement>(null);
  useFocusHeadingOnNavigation(mainRef);

  const skipToContent = (event: MouseEvent<HTMLAnchorElement>) => {
    event.preventDefault();
    mainRef.current?.focus();
  };

  return (
    <div className="shell">
      <a className="skip-link" href="#content" onClick={skipToContent}>
        {t('app.skipToContent')}
      </a>
      <header className="shell-header">
        <span className="brand">
          <LogoMark />
          {t('app.name')}
        </span>
        <ThemeToggle />
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

/**
 * After an in-app navigation, put focus on the new screen's h1 so keyboard and
 * screen-reader users land on it (as they would after a page load). Not on
 * the first render: a fresh load starts at the top of the document.
 */
function useFocusHeadingOnNavigation(mainRef: RefObject<HTMLElement | null>) {
  const { pathname } = useLocation();
  const shownPath = useRef(pathname);
  useEffect(() => {
    if (shownPath.current === pathname) return;
    shownPath.current = pathname;
    mainRef.current?.querySelector<HTMLElement>('h1')?.focus();
    mainRef.current?.scrollTo({ top: 0 });
  }, [pathname, mainRef]);
}
