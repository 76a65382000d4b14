import { useEffect, useRef, type RefObject } from 'react';
import { useLocation } from 'react-router';

/**
 * After an in-app navigation, put focus on the new screen's h1 so keyboard and
 * screen-reader users land on it (as they would after a page load). Not on
 * the first render: a fresh load starts at the top of the document.
 */
export function useFocusHeadingOnNavigation(mainRef: RefObject<HTMLElement | null>) {
  const { pathname } = useLocation();
  const shownPath = useRef(pathname);
  useEffect(() => {
    if (shownPath.current === pathname) return;
    shownPath.current = pathname;
    mainRef.current?.querySelector<HTMLElement>('h1')?.focus();
    mainRef.current?.scrollTo({ top: 0 });
  }, [pathname, mainRef]);
}
