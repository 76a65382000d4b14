/**
 * IPC channel names, derived from the handler namespaces so main and the
 * preload cannot disagree. Imported by both (the preload bundles it).
 */
export function ipcChannel(namespace: string, method: string): string {
  return `megilance:${namespace}.${method}`;
}
