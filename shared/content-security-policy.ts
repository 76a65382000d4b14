/**
 * The renderer's Content Security Policy, one source for both places that
 * send it: the server (helmet, for browsers) and Electron's main process
 * (added to the app's own documents, so a window is protected even by a
 * server that sends none; when both send it the browser enforces both).
 * Directives are in helmet's camelCase form.
 */
export const contentSecurityPolicy = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // React sets style attributes; no inline <style> or script is needed.
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'", 'ws:', 'wss:'],
  mediaSrc: ["'self'", 'blob:'],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
} as const satisfies Record<string, readonly string[]>;

/** The header value in helmet's format: `default-src 'self';script-src 'self';…`. */
export function contentSecurityPolicyHeader(policy: Record<string, readonly string[]> = contentSecurityPolicy): string {
  return Object.entries(policy)
    .map(([directive, sources]) => [directive.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), ...sources].join(' '))
    .join(';');
}

/**
 * The policy for the packaged desktop app's pages, served by Electron's main
 * process from `app://megilance` (electron/app-protocol.ts): the same rules,
 * except that 'self' is now the app's scheme, so the server it talks to is
 * named where the page reaches it (the API, and images and media the server
 * serves). The server's own policy above is unchanged.
 */
export function desktopAppContentSecurityPolicy(serverOrigin: string): Record<string, readonly string[]> {
  // An origin goes into the header verbatim: nothing that could end a source or a directive.
  if (!/^https?:\/\/[A-Za-z0-9.\-[\]:]+$/.test(serverOrigin)) {
    throw new Error(`Not a server origin for the CSP: ${JSON.stringify(serverOrigin)}`);
  }
  return {
    ...contentSecurityPolicy,
    imgSrc: [...contentSecurityPolicy.imgSrc, serverOrigin],
    connectSrc: [...contentSecurityPolicy.connectSrc, serverOrigin],
    mediaSrc: [...contentSecurityPolicy.mediaSrc, serverOrigin],
  };
}
