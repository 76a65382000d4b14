/**
 * IPC channel names, derived from the handler namespaces so main and the
 * preload cannot disagree. Imported by both (the preload bundles it).
 */
export function ipcChannel(namespace: string, method: string): string {
  return `megilance:${namespace}.${method}`;
}

/**
 * What main pushes to the page (webContents.send); the preload turns each
 * into a subscription of `window.megilance` (`onNavigate`, `onOutboxState`).
 */
export const ipcEvents = {
  /** A route for the page to show: a megilance:// link, a notification click. */
  navigate: 'megilance:event.navigate',
  /** The outbox's state after every change. */
  outboxState: 'megilance:event.outboxState',
  /** getDisplayMedia was called: which screen or window to share (screen-picker.ts). */
  screenPickerRequest: 'megilance:event.screenPickerRequest',
} as const;
