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
import { desktopServerUrl, resolveApiEndpoints } from './api/endpoints.ts';
import { createApiClients } from './api/trpc.ts';
import { App } from './app/App.tsx';
import { routes } from './app/routes.tsx';
import { browserAuthChannel, browserExclusive, browserSessionHint } from './auth/browserSession.ts';
import { followSessionIdentity } from './auth/followSession.ts';
import { grantOf } from './auth/grant.ts';
import { AuthSession } from './auth/session.ts';
import { ServerConnection, connectionSourcesOf } from './connection/serverConnection.ts';
import { startI18n } from './i18n/i18n.ts';
import { readStoredLanguage } from './i18n/languagePreference.ts';
import { pickLanguage } from './i18n/languages.ts';
import { themeStore } from './theme/themeStore.ts';

themeStore.start();
startI18n(pickLanguage(readStoredLanguage(), navigator.languages));

const endpoints = resolveApiEndpoints(window.location, desktopServerUrl());

// TODO(issue 4): in the desktop app (`window.megilance` present) the refresh token will live in the OS
// keychain, reached through the preload: send `x-megilance-client: desktop`, pass `{ refreshToken }`
// from the keychain to auth.refresh, and store each rotated token (and the one sign-in returns) back
// there; the session hint then becomes "the keychain has a token". Until that API exists the desktop
// behaves like a browser: the server sets the refresh cookie and the access token stays in memory.
const session = new AuthSession({
  refresh: async () => grantOf(await clients.trpcClient.auth.refresh.mutate({})),
  hint: browserSessionHint,
  exclusive: browserExclusive,
  channel: browserAuthChannel(),
});
const clients = createApiClients(endpoints, session);
const connection = new ServerConnection(connectionSourcesOf(clients), {
  onReconnect: () => {
    // Whatever was on screen may have changed while the link was down.
    void clients.queryClient.invalidateQueries();
    session.retryNow();
  },
});
followSessionIdentity(session, clients, () => connection.expectReconnect());
connection.start();
session.start();

// Served over http(s), paths are real URLs (the server answers deep links
// with this page). Loaded from a file, only the hash can carry the route.
const router = window.location.protocol === 'file:' ? createHashRouter(routes) : createBrowserRouter(routes);

const container = document.getElementById('root');
if (container === null) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <App clients={clients} connection={connection} endpoints={endpoints} session={session} router={router} />
  </StrictMode>,
);
