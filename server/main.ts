/**
 * Starts and stops one MegiLance server process: config → logger →
 * database (migrated) → HTTP/WebSocket. Used by the CLI, the desktop app's
 * embedded server, tests and benchmarks alike.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import type { ServerConfig } from './config.ts';
import type { ServerDeps } from './context.ts';
import { openDatabase, type DatabaseHandle } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import { ServerLifecycle } from './lifecycle.ts';
import { createLogger } from './logger.ts';
import { createMailer, MailOutbox } from './delivery/mail.ts';
import { createSmsSender } from './delivery/sms.ts';
import { createSecretBox, loadSecretKey } from './security/secret-box.ts';
import { CallService } from './calls/service.ts';
import { lookupGeo, preloadGeoIp } from './risk/geo.ts';
import { loadReputationLists } from './risk/ip-reputation.ts';
import { LiveSockets } from './security/live-sockets.ts';
import { createPasswordHasher } from './security/passwords.ts';
import { startReminderLoop } from './meetings/reminders.ts';
import { notificationHub } from './notifications/hub.ts';

const LIVE_SOCKET_SWEEP_MS = 15_000;

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  deps: ServerDeps;
  database: DatabaseHandle;
  /** Drains (readiness off, clients told, in-flight requests finished), then closes the database. */
  stop(reason?: string): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Runs after the app is built and before it listens: the last moment routes can be added (benchmarks). */
  beforeListen?: (app: FastifyInstance, deps: ServerDeps) => void | Promise<void>;
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  const lifecycle = new ServerLifecycle();
  const database = openDatabase(config.database, logger, config.slowQueryMs);
  let app: FastifyInstance | undefined;
  try {
    const report = await migrateToLatest(database.db, database.engine);
    logger.info(
      { engine: database.engine, location: database.location, applied: report.applied, current: report.current },
      'database ready',
    );

    const secretKey = loadSecretKey(config.security.secretKey);
    if (secretKey.created) {
      logger.warn(
        { file: config.security.secretKey.kind === 'file' ? config.security.secretKey.path : null },
        'made a new MFA encryption key file (development); production takes MFA_ENCRYPTION_KEY from the environment',
      );
    }
    const deps: ServerDeps = {
      config,
      logger,
      db: database.db,
      dbEngine: database.engine,
      lifecycle,
      passwordHasher: createPasswordHasher(config.security.argon2),
      secretBox: createSecretBox(secretKey.key),
      calls: new CallService({ ...config.calls, logLevel: 'warn' }, database.db, logger),
      mailer: createMailer({ ...config.mail, logger }),
      sms: createSmsSender({
        twilio: config.sms.transport.kind === 'twilio' ? config.sms.transport.twilio : null,
        outbox: config.sms.transport.kind === 'outbox' ? new MailOutbox(config.sms.transport.dir) : null,
        db: database.db,
        logger,
        rateLimit: config.sms.rateLimit,
      }),
      riskLists: loadReputationLists(config.security.risk.lists),
      locate: config.security.risk.geoIp ? lookupGeo : () => null,
      liveSockets: new LiveSockets(),
      connections: { count: () => app?.websocketServer.clients.size ?? 0 },
      publicOrigin: () => {
        if (config.publicUrl !== null) return new URL(config.publicUrl).origin;
        const address = app?.server.address();
        return `http://localhost:${typeof address === 'object' && address !== null ? address.port : config.port}`;
      },
    };
    if (config.env === 'production' && config.security.risk.geoIp) {
      // ~110 MB of geo data, loaded now rather than on the first sign-in from a public address.
      logger.info({ loadMs: preloadGeoIp().loadMs }, 'geo-IP data loaded');
    }
    app = await buildApp(deps);
    await options.beforeListen?.(app, deps);
    const address = await app.listen({ host: config.host, port: config.port });
    const url = address.replace('[::1]', 'localhost');
    lifecycle.transition('ready');
    await recordServerEvent(deps, 'started', { url, engine: database.engine });
    // Sessions can end on another node or by expiry: close their sockets here too.
    const sweep = setInterval(() => {
      deps.liveSockets
        .sweep(deps.db, config.security)
        .catch((err: unknown) => logger.warn({ err }, 'live socket sweep failed'));
    }, LIVE_SOCKET_SWEEP_MS).unref();
    // Scheduled meetings' reminders (each sent once, whichever node claims it).
    const reminders = startReminderLoop({
      ...deps,
      notifications: notificationHub(deps),
      reminderMinutes: config.meetings.reminderMinutes,
    });
    // Recordings past their retention are deleted now and hourly.
    const recordingCleanup = deps.calls.recordings.startCleanup();
    logger.info({ url }, 'MegiLance server listening');

    const running = app;
    let stopping: Promise<void> | undefined;
    const stop = (reason = 'stop requested'): Promise<void> => {
      clearInterval(sweep);
      recordingCleanup.stop();
      reminders.stop();
      return (stopping ??= drainAndClose(running, deps, database, reason));
    };
    return { url, app: running, deps, database, stop };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }
}

async function drainAndClose(
  app: FastifyInstance,
  deps: ServerDeps,
  database: DatabaseHandle,
  reason: string,
): Promise<void> {
  const { logger, lifecycle, config } = deps;
  logger.info({ reason }, 'draining');
  lifecycle.transition('draining');
  await recordServerEvent(deps, 'draining', { reason }).catch((err: unknown) =>
    logger.warn({ err }, 'could not record drain'),
  );
  // Live subscriptions see 'draining' and end; give them a moment to flush before sockets close.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closed = app.close();
  const timedOut = new Promise<'timeout'>((resolve) => setTimeout(resolve, config.shutdownGraceMs, 'timeout').unref());
  if ((await Promise.race([closed.then(() => 'closed' as const), timedOut])) === 'timeout') {
    logger.warn({ graceMs: config.shutdownGraceMs }, 'drain grace period over: closing remaining connections');
    app.server.closeAllConnections();
    await closed;
  }
  lifecycle.transition('stopped');
  deps.mailer.close();
  await deps.calls.close();
  await database.close();
  logger.info('stopped');
}

async function recordServerEvent(deps: ServerDeps, kind: string, detail: Record<string, unknown>): Promise<void> {
  await deps.db
    .insertInto('server_events')
    .values({ kind, detail_json: JSON.stringify(detail), created_at: Date.now() })
    .execute();
}
