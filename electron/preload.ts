/**
 * The preload: exposes exactly `window.megilance` (typed in
 * shared/desktop-api.ts) to the page, and nothing else. Every method is a
 * named IPC call whose arguments main parses again; there is no generic
 * invoke(channel) for the page to abuse.
 *
 * Runs sandboxed: it may require only 'electron', so it is bundled to
 * dist/electron/preload.cjs with everything it imports (build/bundle-electron.ts).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import * as z from 'zod';
import {
  appRouteSchema,
  decodeDesktopBootstrap,
  screenPickerRequestSchema,
  type ScreenPickerRequest,
  type DesktopOutboxState,
  type MegilanceDesktopApi,
} from '../shared/desktop-api.ts';
import { ipcChannel, ipcEvents } from './ipc-channels.ts';
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

/**
 * A subscription to one of main's pushes: the page's listener gets the value
 * only (never the IpcRendererEvent, whose `sender` is the IPC object), after
 * `accept` checked it. Returns the unsubscribe.
 */
function subscription<T>(channel: string, accept: (value: unknown) => value is T) {
  return (listener: (value: T) => void): (() => void) => {
    const relay = (_event: IpcRendererEvent, value: unknown) => {
      if (accept(value)) listener(value);
    };
    ipcRenderer.on(channel, relay);
    return () => void ipcRenderer.removeListener(channel, relay);
  };
}

const isRoute = (value: unknown): value is string => appRouteSchema.safeParse(value).success;
const isScreenPickerRequest = (value: unknown): value is ScreenPickerRequest =>
  screenPickerRequestSchema.safeParse(value).success;
const isOutboxState = (value: unknown): value is DesktopOutboxState =>
  typeof value === 'object' && value !== null && typeof (value as { available?: unknown }).available === 'boolean';

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
  cache: {
    stats: call('cache', 'stats'),
    clear: call('cache', 'clear'),
    getRecord: call('cache', 'getRecord'),
    readCollection: call('cache', 'readCollection'),
    putRecords: call('cache', 'putRecords'),
    writeCollection: call('cache', 'writeCollection'),
  },
  outbox: {
    state: call('outbox', 'state'),
    enqueue: call('outbox', 'enqueue'),
    replay: call('outbox', 'replay'),
    keepMine: call('outbox', 'keepMine'),
    takeTheirs: call('outbox', 'takeTheirs'),
    retryFailed: call('outbox', 'retryFailed'),
    discard: call('outbox', 'discard'),
  },
  notifications: {
    show: call('notifications', 'show'),
  },
  tray: {
    setUnreadCount: call('tray', 'setUnreadCount'),
  },
  updates: {
    status: call('updates', 'status'),
  },
  screenPicker: {
    choose: call('screenPicker', 'choose'),
  },
  onScreenPickerRequest: subscription(ipcEvents.screenPickerRequest, isScreenPickerRequest),
  onNavigate: subscription(ipcEvents.navigate, isRoute),
  onOutboxState: subscription(ipcEvents.outboxState, isOutboxState),
} satisfies MegilanceDesktopApi;

contextBridge.exposeInMainWorld('megilance', api);
