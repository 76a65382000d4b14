/**
 * Native notifications and the tray's unread count, with fakes for
 * Electron's Notification and Tray.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createDesktopNotifier, type NotificationOptions } from './notifications.ts';
import { createUnreadTray, trayTitle, trayTooltip, type TrayMenuItem } from './tray.ts';

class FakeNotification extends EventEmitter {
  shown = false;
  readonly options: NotificationOptions;
  constructor(options: NotificationOptions) {
    super();
    this.options = options;
  }
  show(): void {
    this.shown = true;
  }
}

function notifier(options: { focused?: boolean; supported?: boolean } = {}) {
  const created: FakeNotification[] = [];
  const opened: string[] = [];
  const state = { focused: options.focused ?? false };
  const notify = createDesktopNotifier({
    system: {
      isSupported: () => options.supported ?? true,
      create: (settings) => {
        const notification = new FakeNotification(settings);
        created.push(notification);
        return notification;
      },
    },
    isWindowFocused: () => state.focused,
    openRoute: (route) => opened.push(route),
    icon: '/app/dist/electron/icons/tray.png',
  });
  return { notify, created, opened, state };
}

const message = {
  title: 'Ada Lovelace',
  body: 'Are you free for a call?',
  kind: 'message' as const,
  route: '/messages/t1',
};

describe('notifications', () => {
  it('shows one while the window is not focused; a click opens its route', () => {
    const { notify, created, opened } = notifier();
    expect(notify.show(message)).toEqual({ shown: true });
    expect(created).toHaveLength(1);
    expect(created[0]?.shown).toBe(true);
    expect(created[0]?.options).toEqual({
      title: 'Ada Lovelace',
      body: 'Are you free for a call?',
      icon: '/app/dist/electron/icons/tray.png',
    });
    created[0]?.emit('click');
    expect(opened).toEqual(['/messages/t1']);
  });

  it('stays quiet while the window is focused (the page shows the event itself)', () => {
    const { notify, created, state } = notifier({ focused: true });
    expect(notify.show({ ...message, kind: 'call' })).toEqual({ shown: false, reason: 'window-focused' });
    expect(created).toEqual([]);
    state.focused = false;
    expect(notify.show({ ...message, kind: 'contract' })).toEqual({ shown: true });
  });

  it('says so where the OS has no notifications', () => {
    const { notify, created } = notifier({ supported: false });
    expect(notify.show(message)).toEqual({ shown: false, reason: 'unsupported' });
    expect(created).toEqual([]);
  });

  it('holds main’s own callers to the same limits', () => {
    const { notify } = notifier();
    expect(() => notify.show({ ...message, title: 'x'.repeat(121) })).toThrow();
    expect(() => notify.show({ ...message, route: 'https://evil.example/' })).toThrow();
  });

  it('app notifications (an update) show whatever the focus and run their action on a click', () => {
    const { notify, created } = notifier({ focused: true });
    let restarted = false;
    expect(notify.showFromApp('Update ready', 'Restart to update', () => (restarted = true))).toBe(true);
    created[0]?.emit('click');
    expect(restarted).toBe(true);
  });
});

class FakeTray extends EventEmitter {
  tooltip = '';
  title = '';
  menu: TrayMenuItem[] = [];
  destroyed = false;
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setTitle(title: string): void {
    this.title = title;
  }
  setContextMenu(menu: unknown): void {
    this.menu = menu as TrayMenuItem[];
  }
  destroy(): void {
    this.destroyed = true;
  }
}

function tray(platform: string, withIcon = true) {
  const icon = new FakeTray();
  const calls = { open: 0, quit: 0, badge: [] as number[] };
  const unread = createUnreadTray({
    createTray: () => (withIcon ? icon : undefined),
    buildMenu: (template) => template,
    platform,
    setBadgeCount: (count) => {
      calls.badge.push(count);
      return true;
    },
    openWindow: () => calls.open++,
    quit: () => calls.quit++,
  });
  return { icon, calls, unread };
}

describe('the tray', () => {
  it('says the unread count in its tooltip; its menu opens and quits', () => {
    const { icon, calls, unread } = tray('linux');
    expect(icon.tooltip).toBe('MegiLance');
    unread.setUnreadCount(3);
    expect(icon.tooltip).toBe('MegiLance — 3 unread');
    expect(unread.unreadCount).toBe(3);
    // Not on Linux: the title and the dock badge are macOS's.
    expect(icon.title).toBe('');
    expect(calls.badge).toEqual([]);
    expect(icon.menu.map((item) => item.label ?? item.type)).toEqual(['Open', 'separator', 'Quit']);
    icon.menu[0]?.click?.();
    icon.emit('click');
    icon.menu[2]?.click?.();
    expect(calls).toMatchObject({ open: 2, quit: 1 });
    unread.setUnreadCount(0);
    expect(icon.tooltip).toBe('MegiLance');
  });

  it('on macOS also shows the count beside the icon and on the dock', () => {
    const { icon, calls, unread } = tray('darwin');
    unread.setUnreadCount(12);
    expect(icon.title).toBe('12');
    unread.setUnreadCount(0);
    expect(icon.title).toBe('');
    expect(calls.badge).toEqual([12, 0]);
  });

  it('refuses counts outside 0..9999', () => {
    const { unread } = tray('win32');
    for (const bad of [-1, 10_000, 2.5, Number.NaN]) expect(() => unread.setUnreadCount(bad)).toThrow();
    unread.setUnreadCount(9_999);
    expect(trayTooltip(9_999)).toBe('MegiLance — 9999 unread');
    expect(trayTitle(9_999)).toBe('9999');
  });

  it('without an icon the count is still kept (and the dock badge set on macOS)', () => {
    const { calls, unread } = tray('darwin', false);
    unread.setUnreadCount(4);
    expect(unread.unreadCount).toBe(4);
    expect(calls.badge).toEqual([4]);
    unread.destroy();
  });
});
