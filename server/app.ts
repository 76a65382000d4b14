/**
 * Builds the HTTP server: tRPC over HTTP and WebSocket at /trpc, health
 * probes, and the built renderer at / so the same UI runs in a browser.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import websocket from '@fastify/websocket';
import type { CreateFastifyContextOptions, FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import helmet from 'helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { contentSecurityPolicy } from '../shared/content-security-policy.ts';
import type { RequestContext, ServerDeps } from './context.ts';
import { appRouter, type AppRouter } from './router.ts';
import { GUEST_TOKEN_PREFIX, resolveGuestToken } from './calls/guests.ts';
import { registerRecordingRoutes } from './calls/recording-http.ts';
import { registerOutboxPage } from './delivery/outbox-page.ts';
import type { ClosableSocket } from './security/live-sockets.ts';
import { resolveAccessToken } from './security/sessions.ts';
import { databaseReachable } from './system/service.ts';
import { fastifyTRPCBufferedPlugin } from './trpc-fastify.ts';
import { allowDesktopAppOrigin } from './desktop-cors.ts';

export const TRPC_PREFIX = '/trpc';

export async function buildApp(deps: ServerDeps): Promise<FastifyInstance> {
  // Fastify's instance type follows its logger's; keep it the framework's base logger type.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    // Only named proxies may say who the client is: the client IP feeds rate limits and risk.
    trustProxy: deps.config.trustProxy.length > 0 ? deps.config.trustProxy : false,
    routerOptions: { maxParamLength: 5000 },
  });

  // Security headers (CSP from shared/). Built once: @fastify/helmet rebuilds helmet for
  // every request, which cost ~30 µs per request in bench/ for headers that never change.
  const securityHeaders = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy },
    // Nothing cross-origin is embedded; WebRTC and workers need no COEP.
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onRequest', (req, reply, done) =>
    securityHeaders(req.raw, reply.raw, (err?: unknown) => done(err instanceof Error ? err : undefined)),
  );
  allowDesktopAppOrigin(app);
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });

  await app.register(cookie);

  const createContext = async ({ req, res, info }: CreateFastifyContextOptions): Promise<RequestContext> => {
    // HTTP sends `Authorization: Bearer …`; a WebSocket sends its token once, in the connection params.
    const bearer =
      /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? info.connectionParams?.['accessToken'];
    // A guest token (`mlg_…`) is never looked up as a session: it reaches only the call of its meeting.
    const isGuestToken = bearer?.startsWith(GUEST_TOKEN_PREFIX) === true;
    const session =
      bearer === undefined || isGuestToken ? null : await resolveAccessToken(deps.db, deps.config.security, bearer);
    const guest = bearer !== undefined && isGuestToken ? await resolveGuestToken({ db: deps.db }, bearer) : null;
    const isWebSocket = info.connectionParams !== null || req.headers.upgrade === 'websocket';
    // Over WebSocket `res` is the socket itself: register it so it closes when its session ends.
    if (isWebSocket && session !== null) deps.liveSockets.add(session.sessionId, res as unknown as ClosableSocket);
    return {
      deps,
      session,
      guest,
      logger: req.log,
      requestId: String(req.id),
      client: {
        ip: req.ip,
        userAgent: req.headers['user-agent'] ?? null,
        kind: req.headers['x-megilance-client'] === 'desktop' ? 'desktop' : 'web',
      },
      cookies: isWebSocket
        ? null
        : {
            get: (name) => req.cookies[name],
            set: (name, value, options) =>
              void res.setCookie(name, value, {
                httpOnly: true,
                secure: true,
                sameSite: 'strict',
                path: options.path,
                maxAge: options.maxAgeSeconds,
              }),
            clear: (name, options) => void res.clearCookie(name, { path: options.path }),
          },
    };
  };

  await app.register(fastifyTRPCBufferedPlugin, {
    prefix: TRPC_PREFIX,
    useWSS: true,
    trpcOptions: {
      keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
      router: appRouter,
      createContext,
      onError({ error, path, ctx }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          (ctx?.logger ?? deps.logger).error({ err: error.cause ?? error, path }, 'procedure failed');
        }
      },
    },
  } satisfies FastifyTRPCPluginOptions<AppRouter>);

  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const dbOk = await databaseReachable(deps);
    const ready = dbOk && deps.lifecycle.state === 'ready';
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not-ready', state: deps.lifecycle.state, database: dbOk });
  });

  if (deps.config.env === 'development' && deps.mailer.transport === 'outbox') registerOutboxPage(app, deps.mailer);
  registerRecordingRoutes(app, deps);
  registerRenderer(app, deps);
  return app;
}

function registerRenderer(app: FastifyInstance, deps: ServerDeps): void {
  const dir = deps.config.rendererDir;
  const built = existsSync(join(dir, 'index.html'));
  if (built) {
    void app.register(fastifyStatic, {
      root: dir,
      wildcard: false,
      index: 'index.html',
      maxAge: '1h',
      immutable: false,
    });
  } else {
    deps.logger.warn({ rendererDir: dir }, 'renderer is not built: run `npm run build:renderer`');
  }
  // Client-side routes (/jobs, /settings …) get the app shell; API and asset misses stay 404.
  app.setNotFoundHandler((req, reply) => {
    const wantsPage = req.method === 'GET' && !req.url.startsWith(TRPC_PREFIX) && !/\.[a-z0-9]+(\?|$)/i.test(req.url);
    if (!wantsPage) return reply.code(404).send({ error: 'Not Found', message: `No route ${req.method} ${req.url}` });
    if (built) return reply.type('text/html').sendFile('index.html');
    return reply
      .code(503)
      .type('text/html')
      .send(
        '<!doctype html><title>MegiLance</title><h1>MegiLance server is running</h1>' +
          '<p>The user interface is not built yet. Run <code>npm run build:renderer</code> (or start with <code>npm start</code>, which builds it) and reload.</p>',
      );
  });
}
