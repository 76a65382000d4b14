#!/usr/bin/env node
/**
 * `megilance-server`: start the server, or manage its database.
 *   megilance-server start            run until SIGINT/SIGTERM (graceful drain)
 *   megilance-server migrate          apply pending migrations and exit
 *   megilance-server migrate --status list applied and pending migrations
 *   megilance-server config           print the parsed configuration (no secrets)
 *   megilance-server outbox [--read ID] list (or read) mail in the dev outbox
 *   megilance-server admin grant|revoke EMAIL   make a user an administrator, or not
 *   megilance-server admin reset-2fa EMAIL --reason TEXT --by WHO   remove every second factor (recovery)
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type ServerConfig } from './config.ts';
import { openDatabase, redactUrl } from './db/connect.ts';
import { createMailer, MailOutbox } from './delivery/mail.ts';
import { createSmsSender } from './delivery/sms.ts';
import { migrateToLatest, pendingMigrations } from './db/migrate.ts';
import { createLogger } from './logger.ts';
import { recordSecurityEvent } from './security/events.ts';
import { adminResetSecondFactors } from './security/mfa.ts';
import { createPasswordHasher } from './security/passwords.ts';
import { createSecretBox, loadSecretKey } from './security/secret-box.ts';
import { startServer } from './main.ts';

const usage = `Usage: megilance-server <command>

Commands:
  start               start the server (default)
  migrate [--status]  apply pending database migrations, or list them
  config              print the configuration the server would use
  outbox [--read ID]  list the dev mail outbox (newest first), or print one message
  admin grant EMAIL   make a user an administrator (admin revoke EMAIL undoes it)
  admin reset-2fa EMAIL --reason TEXT --by WHO
                      remove every second factor of a user who lost them all, after
                      checking their identity (see server/security/README.md)
  help                show this help

Configuration comes from the environment and .env; see .env.example.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'boolean', default: false },
      read: { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0] ?? 'start';
  if (values.help || command === 'help') {
    console.log(usage);
    return 0;
  }

  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`megilance-server: ${error.message}`);
      return 78; // EX_CONFIG
    }
    throw error;
  }

  switch (command) {
    case 'start':
      return runServer(config);
    case 'migrate':
      return runMigrate(config, values.status);
    case 'config': {
      const shown =
        config.database.engine === 'postgres'
          ? { ...config, database: { engine: 'postgres', url: redactUrl(config.database.url) } }
          : config;
      console.log(JSON.stringify(shown, null, 2));
      return 0;
    }
    case 'outbox':
      return runOutbox(config, values.read);
    case 'admin':
      if (positionals[1] === 'reset-2fa')
        return runResetSecondFactors(config, positionals[2], values.reason, values.by);
      return runAdmin(config, positionals[1], positionals[2]);
    default:
      console.error(`megilance-server: unknown command "${command}"\n\n${usage}`);
      return 64; // EX_USAGE
  }
}

async function runServer(config: ServerConfig): Promise<number> {
  const logger = createLogger(config);
  const server = await startServer(config, { logger });
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'shutdown signal received');
      void server
        .stop(signal)
        .then(
          () => 0,
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            return 1;
          },
        )
        .then((code) => logger.flush(() => resolve(code)));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  // Machine-readable line for launchers (the desktop app, npm start, tests).
  process.stdout.write(`MEGILANCE_SERVER_URL=${server.url}\n`);
  return done;
}

async function runMigrate(config: ServerConfig, statusOnly: boolean): Promise<number> {
  const logger = createLogger({ ...config, log: { ...config.log, level: 'warn' } });
  const database = openDatabase(config.database, logger, config.slowQueryMs);
  try {
    if (statusOnly) {
      const pending = await pendingMigrations(database.db, database.engine);
      console.log(
        pending.length === 0
          ? `${database.location}: up to date`
          : `${database.location}: pending ${pending.join(', ')}`,
      );
      return 0;
    }
    const report = await migrateToLatest(database.db, database.engine);
    console.log(
      report.applied.length === 0
        ? `${database.location}: already at ${report.current ?? '(empty)'}`
        : `${database.location}: applied ${report.applied.join(', ')}; now at ${report.current}`,
    );
    return 0;
  } finally {
    await database.close();
  }
}

/** Administrators are made on the server itself, by someone with access to it: no API can do it. */
async function runAdmin(config: ServerConfig, action: string | undefined, email: string | undefined): Promise<number> {
  if ((action !== 'grant' && action !== 'revoke') || email === undefined) {
    console.error('megilance-server: usage: megilance-server admin grant|revoke EMAIL');
    return 64;
  }
  const logger = createLogger({ ...config, log: { ...config.log, level: 'warn' } });
  const database = openDatabase(config.database, logger, config.slowQueryMs);
  try {
    await migrateToLatest(database.db, database.engine);
    const role = action === 'grant' ? 'admin' : 'member';
    const user = await database.db
      .selectFrom('users')
      .select(['id', 'email'])
      .where('email_normalized', '=', email.trim().toLowerCase())
      .executeTakeFirst();
    if (user === undefined) {
      console.error(`megilance-server: no account with the email ${email}`);
      return 1;
    }
    await database.db.updateTable('users').set({ role, updated_at: Date.now() }).where('id', '=', user.id).execute();
    await recordSecurityEvent(database.db, {
      userId: user.id,
      kind: 'role_changed',
      detail: { role, by: 'megilance-server admin' },
    });
    console.log(`${user.email} is now ${role === 'admin' ? 'an administrator' : 'a member'}.`);
    return 0;
  } finally {
    await database.close();
  }
}

/** The documented recovery path: identity checked out of band, then every second factor removed and sessions ended. */
async function runResetSecondFactors(
  config: ServerConfig,
  email: string | undefined,
  reason: string | undefined,
  by: string | undefined,
): Promise<number> {
  if (
    email === undefined ||
    reason === undefined ||
    reason.trim().length < 10 ||
    by === undefined ||
    by.trim() === ''
  ) {
    console.error(
      'megilance-server: usage: megilance-server admin reset-2fa EMAIL --reason "how the identity was checked" --by "your name"\n' +
        "(the reason, at least 10 characters, and who you are go into the user's security log)",
    );
    return 64;
  }
  const logger = createLogger({ ...config, log: { ...config.log, level: 'warn' } });
  const database = openDatabase(config.database, logger, config.slowQueryMs);
  const mailer = createMailer({ ...config.mail, logger });
  try {
    await migrateToLatest(database.db, database.engine);
    const user = await database.db
      .selectFrom('users')
      .select(['id', 'email'])
      .where('email_normalized', '=', email.trim().toLowerCase())
      .executeTakeFirst();
    if (user === undefined) {
      console.error(`megilance-server: no account with the email ${email}`);
      return 1;
    }
    const deps = {
      db: database.db,
      config: config.security,
      hasher: createPasswordHasher(config.security.argon2),
      mailer,
      secretBox: createSecretBox(loadSecretKey(config.security.secretKey).key),
      sms: createSmsSender({ twilio: null, db: database.db, logger }),
      logger,
    };
    const result = await adminResetSecondFactors(deps, user.id, {
      by: `${by.trim()} (megilance-server admin)`,
      reason: reason.trim(),
      ip: '127.0.0.1',
    });
    console.log(
      `Second factors of ${user.email} removed: authenticator app ${result.totpRemoved ? 'yes' : 'no'}, ` +
        `phone ${result.phoneRemoved ? 'yes' : 'no'}, passkeys/security keys ${result.passkeysRemoved}, ` +
        `backup codes ${result.backupCodesRemoved}; ${result.sessionsEnded} session(s) ended. The owner was mailed.`,
    );
    return 0;
  } finally {
    mailer.close();
    await database.close();
  }
}

/** Development mail lands in a folder instead of an SMTP server: this is how an operator reads it. */
async function runOutbox(config: ServerConfig, readId: string | undefined): Promise<number> {
  if (config.mail.transport.kind !== 'outbox') {
    console.error('megilance-server: mail goes through SMTP (MAIL_SMTP_HOST is set); there is no outbox to read.');
    return 1;
  }
  const outbox = new MailOutbox(config.mail.transport.dir, config.mail.transport.keep);
  if (readId !== undefined) {
    const message = await outbox.read(readId).catch(() => null);
    if (message === null) {
      console.error(`megilance-server: no message ${readId} in ${config.mail.transport.dir}`);
      return 1;
    }
    console.log(
      `From: ${message.from}\nTo: ${message.to}\nSubject: ${message.subject}\nDate: ${new Date(message.createdAt).toISOString()}\n\n${message.text}`,
    );
    return 0;
  }
  const entries = await outbox.list(20);
  if (entries.length === 0) console.log(`The outbox (${config.mail.transport.dir}) is empty.`);
  for (const entry of entries) {
    console.log(`${entry.id}  ${new Date(entry.createdAt).toISOString()}  ${entry.to}  ${entry.subject}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    // The server has drained and closed its database; idle keep-alive timers of
    // departed clients must not hold the process open.
    process.exit(code);
  },
  (error: unknown) => {
    console.error('megilance-server: failed to start:', error instanceof Error ? error.message : error);
    // Exit now: under Electron's utility process nothing else would end it.
    process.exit(1);
  },
);
