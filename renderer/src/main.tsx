/**
 * Renderer entry. Order matters: the theme and language are applied to
 * <html> before React renders, so the first paint is already right (there is
 * no inline script to do it earlier: the CSP allows only 'self' scripts).
 * The session starts restoring before the first render, too, so a signed-in
 * user does not see the sign-in screen flash by.
 */
import './styles/app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, createHashRouter } from 'react-router';
import { desktopApi, desktopServerUrl, resolveApiEndpoints } from './api/endpoints.ts';
import { createApiClients } from './api/trpc.ts';
import { App } from './app/App.tsx';
import { routes } from './app/routes.tsx';
import { browserAuthChannel, browserExclusive, browserSessionHint } from './auth/browserSession.ts';
import { followSessionIdentity } from './auth/followSession.ts';
import { grantOf } from './auth/grant.ts';
import { desktopSessionDeps } from './auth/desktopSession.ts';
import { followDesktopNavigation } from './desktop/desktopNavigation.ts';
import { hydrateFromCache, persistToCache } from './desktop/queryPersistence.ts';
import { AuthSession } from './auth/session.ts';
import { ServerConnection, connectionSourcesOf } from './connection/serverConnection.ts';
import { startI18n } from './i18n/i18n.ts';
import { readStoredLanguage } from './i18n/languagePreference.ts';
import { pickLanguage } from './i18n/languages.ts';
import { themeStore } from './theme/themeStore.ts';

themeStore.start();
startI18n(pickLanguage(readStoredLanguage(), navigator.languages));

const endpoints = resolveApiEndpoints(window.location, desktopServerUrl());

// In the desktop app the refresh token lives in the OS keychain behind the preload (main refreshes with the
// server itself); in a browser it is an httpOnly cookie the page never sees.
const desktopCredentials = endpoints.desktop ? desktopApi()?.credentials : undefined;
const session = new AuthSession(
  desktopCredentials === undefined
    ? {
        refresh: async () => grantOf(await clients.trpcClient.auth.refresh.mutate({})),
        hint: browserSessionHint,
        exclusive: browserExclusive,
        channel: browserAuthChannel(),
      }
    : desktopSessionDeps(desktopCredentials, () => clients.trpcClient.auth.me.query()),
);
const clients = createApiClients(endpoints, session);
const connection = new ServerConnection(connectionSourcesOf(clients), {
  onReconnect: () => {
    // Whatever was on screen may have changed while the link was down.
    void clients.queryClient.invalidateQueries();
    session.retryNow();
  },
});
followSessionIdentity(session, clients, () => connection.expectReconnect());
// Desktop: answers the user needs offline are kept in the account's local cache and shown from it first.
const offlineCache = desktopCredentials === undefined ? undefined : desktopApi()?.cache;
if (offlineCache !== undefined) {
  persistToCache(clients.queryClient, offlineCache);
  let hydratedFor: string | null = null;
  session.subscribe(() => {
    const state = session.getState();
    if (state.status === 'unreachable' && hydratedFor === null) {
      // Main opens the stored account's data when the server does not answer (a moment after): try a few times.
      hydratedFor = 'offline';
      void (async () => {
        for (let attempt = 0; attempt < 10 && session.getState().status === 'unreachable'; attempt += 1) {
          if ((await hydrateFromCache(clients.queryClient, offlineCache)) > 0) return;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      })();
    }
    if (state.status !== 'signed_in' || hydratedFor === state.grant.sessionId) return;
    hydratedFor = state.grant.sessionId;
    void hydrateFromCache(clients.queryClient, offlineCache);
  });
}
connection.start();
session.start();

// Served over http(s), paths are real URLs (the server answers deep links
// with this page). Loaded from a file, only the hash can carry the route.
const router = window.location.protocol === 'file:' ? createHashRouter(routes) : createBrowserRouter(routes);
// megilance:// links and notification clicks that arrive while the app is open.
followDesktopNavigation(desktopApi(), (route) => void router.navigate(route));

const container = document.getElementById('root');
if (container === null) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <App clients={clients} connection={connection} endpoints={endpoints} session={session} router={router} />
  </StrictMode>,
);
