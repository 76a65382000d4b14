/**
 * The preload: exposes exactly `window.megilance` (typed in
 * shared/desktop-api.ts) to the page, and nothing else. Every method is a
 * named IPC call whose arguments main parses again; there is no generic
 * invoke(channel) for the page to abuse.
 *
 * Runs sandboxed: it may require only 'electron', so it is bundled to
 * dist/electron/preload.cjs with everything it imports (build/bundle-electron.ts).
 */
import { contextBridge, ipcRenderer } from 'electron';
import * as z from 'zod';
import { decodeDesktopBootstrap, type MegilanceDesktopApi } from '../shared/desktop-api.ts';
import { ipcChannel } from './ipc-channels.ts';
import type { DesktopIpcApi } from './ipc.ts';

// zod would otherwise try `new Function` (its fast path), which the page's CSP forbids.
z.config({ jitless: true });

/** A typed caller for one main-process handler; its type comes from the handler itself. */
function call<N extends keyof DesktopIpcApi, M extends keyof DesktopIpcApi[N] & string>(
  namespace: N,
  method: M,
): DesktopIpcApi[N][M] {
  const channel = ipcChannel(namespace, method);
  const invoke = (...args: unknown[]): Promise<unknown> => ipcRenderer.invoke(channel, ...args);
  return invoke as DesktopIpcApi[N][M];
}

const bootstrap = decodeDesktopBootstrap(process.argv);

const api = {
  platform: bootstrap.platform,
  appVersion: bootstrap.appVersion,
  serverUrl: bootstrap.serverUrl,
  app: {
    getInfo: call('app', 'getInfo'),
  },
  links: {
    openExternal: call('links', 'openExternal'),
  },
  credentials: {
    status: call('credentials', 'status'),
    save: call('credentials', 'save'),
    refresh: call('credentials', 'refresh'),
    forget: call('credentials', 'forget'),
    chooseMode: call('credentials', 'chooseMode'),
  },
} satisfies MegilanceDesktopApi;

contextBridge.exposeInMainWorld('megilance', api);
