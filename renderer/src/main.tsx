/**
 * Renderer entry. Order matters: the theme and language are applied to
 * <html> before React renders, so the first paint is already right (there is
 * no inline script to do it earlier: the CSP allows only 'self' scripts).
 */
import './styles/app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, createHashRouter } from 'react-router';
import { desktopServerUrl, resolveApiEndpoints } from './api/endpoints.ts';
import { createApiClients } from './api/trpc.ts';
import { App } from './app/App.tsx';
import { routes } from './app/routes.tsx';
import { ServerConnection, connectionSourcesOf } from './connection/serverConnection.ts';
import { startI18n } from './i18n/i18n.ts';
import { readStoredLanguage } from './i18n/languagePreference.ts';
import { pickLanguage } from './i18n/languages.ts';
import { themeStore } from './theme/themeStore.ts';

themeStore.start();
startI18n(pickLanguage(readStoredLanguage(), navigator.languages));

const endpoints = resolveApiEndpoints(window.location, desktopServerUrl());
const clients = createApiClients(endpoints);
const connection = new ServerConnection(connectionSourcesOf(clients), {
  // Whatever was on screen may have changed while the link was down.
  onReconnect: () => void clients.queryClient.invalidateQueries(),
});
connection.start();

// Served over http(s), paths are real URLs (the server answers deep links
// with this page). Loaded from a file, only the hash can carry the route.
const router = window.location.protocol === 'file:' ? createHashRouter(routes) : createBrowserRouter(routes);

const container = document.getElementById('root');
if (container === null) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <App clients={clients} connection={connection} endpoints={endpoints} router={router} />
  </StrictMode>,
);
