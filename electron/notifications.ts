/**
 * Native notifications for what happens while the user looks elsewhere: a
 * message, a call, a contract event (`window.megilance.notifications.show`),
 * and main's own (an update is ready).
 *
 * The page asks; main shows the notification only when the window is not
 * focused (a focused page shows the event itself), and a click brings the
 * window forward on the notification's route. Title and body are plain text
 * with length limits (shared/desktop-api.ts); the route is a path inside the
 * app, never a URL.
 *
 * Imports only types from 'electron': Electron's Notification is passed in.
 */
import {
  notificationInputSchema,
  type DesktopNotificationResult,
  type NotificationInput,
} from '../shared/desktop-api.ts';

/** The part of an Electron Notification used here. */
export interface NotificationLike {
  on(event: 'click' | 'close' | 'failed', listener: () => void): unknown;
  show(): void;
}

export interface NotificationOptions {
  title: string;
  body: string;
  icon?: string;
}

export interface NotificationSystem {
  /** Electron's `Notification.isSupported()`. */
  isSupported(): boolean;
  create(options: NotificationOptions): NotificationLike;
}

export interface DesktopNotifierOptions {
  system: NotificationSystem;
  /** Whether the main window exists and has focus. */
  isWindowFocused(): boolean;
  /** Brings the window forward (opening it if needed) and shows `route`. */
  openRoute(route: string): void;
  /** A PNG for the notification (Linux and Windows; macOS uses the app's icon). */
  icon?: string;
  log?: (line: string) => void;
}

export interface DesktopNotifier {
  /** The page's notifications (shown only when the window is not focused). */
  show(input: NotificationInput): DesktopNotificationResult;
  /** Main's own (shown whatever the focus); `onClick` runs on a click. */
  showFromApp(title: string, body: string, onClick: () => void): boolean;
}

/** Notifications kept referenced until they are done with: a collected one loses its click handler. */
const MAX_KEPT = 20;

export function createDesktopNotifier(options: DesktopNotifierOptions): DesktopNotifier {
  const log = options.log ?? ((line: string) => console.warn(line));
  const kept = new Set<NotificationLike>();

  const present = (title: string, body: string, onClick: () => void): boolean => {
    if (!options.system.isSupported()) return false;
    const notification = options.system.create({
      title,
      body,
      ...(options.icon === undefined ? {} : { icon: options.icon }),
    });
    const release = () => kept.delete(notification);
    notification.on('click', () => {
      release();
      onClick();
    });
    notification.on('close', release);
    notification.on('failed', () => {
      release();
      log('notifications: the system refused a notification');
    });
    kept.add(notification);
    if (kept.size > MAX_KEPT) {
      const oldest = kept.values().next().value;
      if (oldest !== undefined) kept.delete(oldest);
    }
    notification.show();
    return true;
  };

  return {
    show(input) {
      // The IPC handler parsed it already; main's own callers are held to the same limits.
      const { title, body, route } = notificationInputSchema.parse(input);
      if (options.isWindowFocused()) return { shown: false, reason: 'window-focused' };
      if (!present(title, body, () => options.openRoute(route))) return { shown: false, reason: 'unsupported' };
      return { shown: true };
    },
    showFromApp: (title, body, onClick) => present(title, body, onClick),
  };
}
