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
