/**
 * Routes main asks the page to show (a megilance:// link, a click on a
 * notification): `window.megilance.onNavigate`. The route is checked again
 * here (a path inside the app, nothing else) before the router goes there.
 *
 * Wired once at start-up, next to the router (renderer/src/main.tsx):
 *   followDesktopNavigation(desktopApi(), (route) => void router.navigate(route));
 */
import { appRouteSchema, type MegilanceDesktopApi } from '../../../shared/desktop-api.ts';

/** Subscribes `navigate` to main's routes; returns the unsubscribe (a no-op outside the desktop app). */
export function followDesktopNavigation(
  api: Partial<Pick<MegilanceDesktopApi, 'onNavigate'>> | undefined,
  navigate: (route: string) => void,
): () => void {
  if (api === undefined || typeof api.onNavigate !== 'function') return () => undefined;
  return api.onNavigate((route) => {
    if (appRouteSchema.safeParse(route).success) navigate(route);
    else console.warn('Ignored a navigation request from the desktop shell that is not a route of the app');
  });
}
