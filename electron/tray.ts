/**
 * The tray (menu bar on macOS, notification area on Windows, the status
 * area on Linux desktops that have one) with the unread count:
 * `window.megilance.tray.setUnreadCount(n)`. The tooltip says
 * "MegiLance — 3 unread"; macOS also shows the count beside the icon and on
 * the dock icon (`app.setBadgeCount`). The menu: Open, Quit; a click on the
 * icon opens the window.
 *
 * Imports only types from 'electron': Tray and Menu come in as functions.
 */
import { UNREAD_COUNT_MAX, unreadCountSchema } from '../shared/desktop-api.ts';

/** The part of an Electron Tray used here. */
export interface TrayLike {
  setToolTip(text: string): void;
  setContextMenu(menu: unknown): void;
  /** macOS: text beside the icon in the menu bar. */
  setTitle(title: string): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

export interface TrayMenuItem {
  label?: string;
  type?: 'separator';
  click?: () => void;
}

export interface UnreadTrayOptions {
  /** `new Tray(icon)`; undefined when there is no icon to show. */
  createTray(): TrayLike | undefined;
  /** `Menu.buildFromTemplate`. */
  buildMenu(template: TrayMenuItem[]): unknown;
  platform: string;
  /** `app.setBadgeCount` (macOS). */
  setBadgeCount(count: number): boolean;
  openWindow(): void;
  quit(): void;
}

export interface UnreadTray {
  setUnreadCount(count: number): void;
  readonly unreadCount: number;
  destroy(): void;
}

/** "MegiLance", or "MegiLance — 3 unread". */
export function trayTooltip(count: number): string {
  return count === 0 ? 'MegiLance' : `MegiLance — ${count} unread`;
}

/** What the macOS menu bar shows beside the icon: nothing for 0, `9999+` never (the count is capped). */
export function trayTitle(count: number): string {
  return count === 0 ? '' : String(Math.min(count, UNREAD_COUNT_MAX));
}

export function createUnreadTray(options: UnreadTrayOptions): UnreadTray {
  const tray = options.createTray();
  let count = 0;
  if (tray !== undefined) {
    tray.setToolTip(trayTooltip(0));
    tray.setContextMenu(
      options.buildMenu([
        { label: 'Open', click: () => options.openWindow() },
        { type: 'separator' },
        { label: 'Quit', click: () => options.quit() },
      ]),
    );
    tray.on('click', () => options.openWindow());
  }
  return {
    setUnreadCount(next) {
      count = unreadCountSchema.parse(next);
      tray?.setToolTip(trayTooltip(count));
      if (options.platform === 'darwin') {
        tray?.setTitle(trayTitle(count));
        options.setBadgeCount(count);
      }
    },
    get unreadCount() {
      return count;
    },
    destroy() {
      tray?.destroy();
    },
  };
}
