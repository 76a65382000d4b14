/**
 * The packaged desktop app shows its UI from `app://megilance` (a privileged
 * custom scheme, electron/app-protocol.ts) and calls this server cross-origin.
 * Only that origin is allowed, only for the API and recordings, and without
 * credentials (the desktop app sends bearer tokens, never cookies). Browsers
 * never send this origin from a web page, so nothing else is opened up.
 */
import type { FastifyInstance } from 'fastify';
import { desktopAppCors } from '../shared/desktop-api.ts';

const ALLOWED_PATHS = /^\/(trpc|recordings)(\/|\?|$)/;

export function allowDesktopAppOrigin(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    if (req.headers.origin !== desktopAppCors.origin || !ALLOWED_PATHS.test(req.url)) return done();
    void reply.header('access-control-allow-origin', desktopAppCors.origin).header('vary', 'Origin');
    if (req.method !== 'OPTIONS') return done();
    void reply
      .code(204)
      .header('access-control-allow-methods', desktopAppCors.methods.join(', '))
      .header('access-control-allow-headers', desktopAppCors.headers.join(', '))
      .header('access-control-max-age', String(desktopAppCors.maxAgeSeconds))
      .send();
  });
}
