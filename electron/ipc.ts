/**
 * Main-process IPC handlers: plain objects per namespace, one function per
 * method of `window.megilance`. Each handler first checks who is asking (a
 * frame of the app's own origin) and then parses the arguments with the
 * method's schema from shared/desktop-api.ts; only then does its code run.
 * The preload's type is derived from these objects (see `DesktopIpcApi`).
 *
 * No runtime import from 'electron': the handlers run under Node in tests,
 * called with fake events whose sender URL the test controls.
 */
import * as z from 'zod';
import { desktopIpcArgs, type DesktopAppInfo } from '../shared/desktop-api.ts';
import type { DesktopCredentials } from './credentials-sign-in.ts';
import { ipcChannel } from './ipc-channels.ts';
import type { DesktopNotifier } from './notifications.ts';
import type { OfflineData } from './offline-data.ts';
import { isAppUrl, openExternalSafely, type OpenExternal } from './security.ts';
import type { UnreadTray } from './tray.ts';
import type { UpdateService } from './updates.ts';
import type { ScreenPicker } from './screen-picker.ts';

/** The part of Electron's IpcMainInvokeEvent a handler looks at. */
export interface IpcInvokeEventLike {
  readonly senderFrame: { readonly url: string } | null;
}

export type DesktopIpcErrorCode = 'FOREIGN_SENDER' | 'INVALID_PAYLOAD';

/** Thrown (and so rejected in the renderer) before a handler runs. */
export class DesktopIpcError extends Error {
  readonly code: DesktopIpcErrorCode;

  constructor(code: DesktopIpcErrorCode, message: string) {
    super(message);
    this.name = 'DesktopIpcError';
    this.code = code;
  }
}

type ArgsSchema = z.ZodType<unknown[], unknown[]>;

/** What ipcMain.handle is given: the guarded handler, carrying its schema for the derived types. */
export interface IpcHandler<S extends ArgsSchema, R> {
  (event: IpcInvokeEventLike, ...rawArgs: unknown[]): Promise<R>;
  readonly args: S;
}

function defineHandler<S extends ArgsSchema, R>(
  appOrigin: string,
  name: string,
  args: S,
  run: (...parsed: z.output<S>) => R | Promise<R>,
): IpcHandler<S, Awaited<R>> {
  const handler = async (event: IpcInvokeEventLike, ...rawArgs: unknown[]): Promise<Awaited<R>> => {
    const frame = event.senderFrame;
    if (frame === null) {
      throw new DesktopIpcError('FOREIGN_SENDER', `${name}: refused, the sending frame is gone`);
    }
    if (!isAppUrl(frame.url, appOrigin)) {
      throw new DesktopIpcError(
        'FOREIGN_SENDER',
        `${name}: refused, the sender (${frame.url}) is not the app (${appOrigin})`,
      );
    }
    const parsed = args.safeParse(rawArgs);
    if (!parsed.success) {
      throw new DesktopIpcError('INVALID_PAYLOAD', `${name}: invalid arguments: ${z.prettifyError(parsed.error)}`);
    }
    return await run(...parsed.data);
  };
  return Object.assign(handler, { args });
}

export interface IpcDependencies {
  /** Origin of the app's pages; only frames of this origin may call. */
  appOrigin: string;
  appInfo: DesktopAppInfo;
  /** Electron's shell.openExternal (called only with checked https URLs). */
  openExternal: OpenExternal;
  /** Sign-in kept between launches for the app's server (credentials-sign-in.ts). */
  credentials: DesktopCredentials;
  /** The signed-in account's cache and outbox (offline-data.ts). */
  offline: Pick<
    OfflineData,
    | 'stats'
    | 'clear'
    | 'getRecord'
    | 'readCollection'
    | 'putRecords'
    | 'writeCollection'
    | 'outboxState'
    | 'enqueue'
    | 'replay'
    | 'keepMine'
    | 'takeTheirs'
    | 'retryFailed'
    | 'discard'
  >;
  notifications: Pick<DesktopNotifier, 'show'>;
  tray: Pick<UnreadTray, 'setUnreadCount'>;
  updates: Pick<UpdateService, 'status'>;
  /** Which screen or window to share, asked of the page (screen-picker.ts). */
  screenPicker: Pick<ScreenPicker, 'choose'>;
}

export function createIpcHandlers(deps: IpcDependencies) {
  const { appOrigin } = deps;
  return {
    app: {
      getInfo: defineHandler(appOrigin, 'app.getInfo', desktopIpcArgs.app.getInfo, () => deps.appInfo),
    },
    links: {
      openExternal: defineHandler(appOrigin, 'links.openExternal', desktopIpcArgs.links.openExternal, (url) =>
        openExternalSafely(url, deps.openExternal),
      ),
    },
    // The refresh token comes in through `save` and never goes back out: every answer is a status or an access token.
    credentials: {
      status: defineHandler(appOrigin, 'credentials.status', desktopIpcArgs.credentials.status, () =>
        deps.credentials.status(),
      ),
      save: defineHandler(appOrigin, 'credentials.save', desktopIpcArgs.credentials.save, (input) =>
        deps.credentials.save(input),
      ),
      refresh: defineHandler(appOrigin, 'credentials.refresh', desktopIpcArgs.credentials.refresh, () =>
        deps.credentials.refresh(),
      ),
      forget: defineHandler(appOrigin, 'credentials.forget', desktopIpcArgs.credentials.forget, () =>
        deps.credentials.forget(),
      ),
      chooseMode: defineHandler(appOrigin, 'credentials.chooseMode', desktopIpcArgs.credentials.chooseMode, (mode) =>
        deps.credentials.chooseMode(mode),
      ),
    },
    cache: {
      stats: defineHandler(appOrigin, 'cache.stats', desktopIpcArgs.cache.stats, () => deps.offline.stats()),
      clear: defineHandler(appOrigin, 'cache.clear', desktopIpcArgs.cache.clear, (input) => deps.offline.clear(input)),
      getRecord: defineHandler(appOrigin, 'cache.getRecord', desktopIpcArgs.cache.getRecord, (input) =>
        deps.offline.getRecord(input),
      ),
      readCollection: defineHandler(appOrigin, 'cache.readCollection', desktopIpcArgs.cache.readCollection, (input) =>
        deps.offline.readCollection(input),
      ),
      putRecords: defineHandler(appOrigin, 'cache.putRecords', desktopIpcArgs.cache.putRecords, (input) =>
        deps.offline.putRecords(input),
      ),
      writeCollection: defineHandler(
        appOrigin,
        'cache.writeCollection',
        desktopIpcArgs.cache.writeCollection,
        (input) => deps.offline.writeCollection(input),
      ),
    },
    outbox: {
      state: defineHandler(appOrigin, 'outbox.state', desktopIpcArgs.outbox.state, () => deps.offline.outboxState()),
      enqueue: defineHandler(appOrigin, 'outbox.enqueue', desktopIpcArgs.outbox.enqueue, (input) =>
        deps.offline.enqueue(input),
      ),
      replay: defineHandler(appOrigin, 'outbox.replay', desktopIpcArgs.outbox.replay, () => deps.offline.replay()),
      keepMine: defineHandler(appOrigin, 'outbox.keepMine', desktopIpcArgs.outbox.keepMine, (id) =>
        deps.offline.keepMine(id),
      ),
      takeTheirs: defineHandler(appOrigin, 'outbox.takeTheirs', desktopIpcArgs.outbox.takeTheirs, (id) =>
        deps.offline.takeTheirs(id),
      ),
      retryFailed: defineHandler(appOrigin, 'outbox.retryFailed', desktopIpcArgs.outbox.retryFailed, (id) =>
        deps.offline.retryFailed(id),
      ),
      discard: defineHandler(appOrigin, 'outbox.discard', desktopIpcArgs.outbox.discard, (id) =>
        deps.offline.discard(id),
      ),
    },
    notifications: {
      show: defineHandler(appOrigin, 'notifications.show', desktopIpcArgs.notifications.show, (input) =>
        deps.notifications.show(input),
      ),
    },
    tray: {
      setUnreadCount: defineHandler(appOrigin, 'tray.setUnreadCount', desktopIpcArgs.tray.setUnreadCount, (count) =>
        deps.tray.setUnreadCount(count),
      ),
    },
    updates: {
      status: defineHandler(appOrigin, 'updates.status', desktopIpcArgs.updates.status, () => deps.updates.status()),
    },
    screenPicker: {
      choose: defineHandler(appOrigin, 'screenPicker.choose', desktopIpcArgs.screenPicker.choose, (input) =>
        deps.screenPicker.choose(input),
      ),
    },
  } satisfies {
    [N in keyof typeof desktopIpcArgs]: Record<keyof (typeof desktopIpcArgs)[N], IpcHandler<ArgsSchema, unknown>>;
  };
}

export type DesktopIpcHandlers = ReturnType<typeof createIpcHandlers>;

/** What the renderer sees of a handler object: the same methods, minus the event. */
export type RendererApiOf<H> = {
  readonly [N in keyof H]: {
    [M in keyof H[N]]: H[N][M] extends IpcHandler<infer S, infer R> ? (...args: z.input<S>) => Promise<R> : never;
  };
};

/** The IPC-backed part of `window.megilance`, derived from the handlers; the preload implements it. */
export type DesktopIpcApi = RendererApiOf<DesktopIpcHandlers>;

/** The part of Electron's ipcMain used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Registers every handler on its channel; returns a function that removes them all. */
export function registerIpcHandlers(ipcMain: IpcMainLike, handlers: DesktopIpcHandlers): () => void {
  const channels: string[] = [];
  for (const [namespace, methods] of Object.entries(handlers)) {
    for (const [method, handler] of Object.entries<IpcHandler<ArgsSchema, unknown>>(methods)) {
      const channel = ipcChannel(namespace, method);
      ipcMain.handle(channel, handler);
      channels.push(channel);
    }
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
