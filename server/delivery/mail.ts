/**
 * Outgoing mail. Two transports, chosen by configuration:
 *
 * - `smtp`: a real SMTP server through nodemailer (production).
 * - `outbox`: the embedded default. Nothing leaves the machine; each message
 *   is written under the data dir as an RFC 822 `.eml` file (built by
 *   nodemailer, so it opens in any mail client) plus a `.json` sidecar that
 *   `listOutbox` / `readOutboxMessage` read, so codes can be read in
 *   development without a mail server.
 *
 * Mail carries sign-in and reset codes: subjects and bodies are never
 * logged, at any level.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { type NodemailerError } from 'nodemailer';
import type { Logger } from 'pino';
import { AppError } from '../../shared/errors.ts';

export type SmtpSecurity = 'tls' | 'starttls' | 'none';

export interface SmtpTransportOptions {
  kind: 'smtp';
  host: string;
  /** Default: 465 for `tls`, 587 for `starttls`, 25 for `none`. */
  port?: number;
  /**
   * `tls`: TLS from the first byte (usually port 465). `starttls` (default):
   * plain connect, then STARTTLS is required; the send fails rather than
   * continue unencrypted. `none`: never encrypt (a relay on loopback or a
   * trusted network).
   */
  security?: SmtpSecurity;
  /** Both or neither: the server is sent these only over TLS unless `security` is `none`. */
  user?: string;
  password?: string;
  /** PEM certificate(s) to trust besides the system's, for a relay with a private CA. */
  ca?: string;
  /** Connecting and the server's greeting, each; default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Any later silence; default 30 000 ms. */
  socketTimeoutMs?: number;
}

export interface OutboxTransportOptions {
  kind: 'outbox';
  /** Folder for the .eml/.json pairs, created on first use. */
  dir: string;
  /** Oldest messages beyond this many are deleted; default 500. */
  keep?: number;
}

export interface MailerOptions {
  /** RFC 5322 sender, e.g. `MegiLance <no-reply@megilance.example>`. */
  from: string;
  transport: SmtpTransportOptions | OutboxTransportOptions;
  logger: Logger;
}

export interface OutgoingMail {
  /** One address, no display name. */
  to: string;
  subject: string;
  text: string;
  html?: string;
  /**
   * A calendar invitation (RFC 5546): sent both as a `text/calendar;
   * method=…` alternative, which mail apps show as an invitation, and as an
   * attached .ics file for everything else.
   */
  icalEvent?: CalendarAttachment;
}

export interface CalendarAttachment {
  method: 'REQUEST' | 'CANCEL' | 'PUBLISH';
  /** The iCalendar text (CRLF line ends). */
  content: string;
  /** Default `invite.ics`. */
  filename?: string;
}

export interface SentMail {
  /** The Message-ID header, angle brackets included. */
  messageId: string;
}

export interface OutboxEntry {
  /** Sortable: newer messages have greater ids. */
  id: string;
  createdAt: number;
  messageId: string;
  from: string;
  to: string;
  subject: string;
  /** Absolute path of the .eml file. */
  emlFile: string;
}

export interface OutboxMessage extends OutboxEntry {
  text: string;
  html: string | null;
}

export interface Mailer {
  readonly transport: 'smtp' | 'outbox';
  send(mail: OutgoingMail): Promise<SentMail>;
  /** Newest first. FEATURE_UNAVAILABLE when mail goes through SMTP. */
  listOutbox(options?: { limit?: number }): Promise<OutboxEntry[]>;
  /** NOT_FOUND for an unknown id. FEATURE_UNAVAILABLE when mail goes through SMTP. */
  readOutboxMessage(id: string): Promise<OutboxMessage>;
  /** Releases SMTP connections; the mailer must not be used afterwards. */
  close(): void;
}

const DEFAULT_PORTS: Record<SmtpSecurity, number> = { tls: 465, starttls: 587, none: 25 };
const DEFAULT_OUTBOX_KEEP = 500;
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;

export function createMailer(options: MailerOptions): Mailer {
  const logger = options.logger.child({ component: 'mail' });
  const { transport } = options;
  if (transport.kind === 'outbox') {
    const outbox = new MailOutbox(transport.dir, transport.keep ?? DEFAULT_OUTBOX_KEEP);
    logger.info({ dir: transport.dir }, 'mail goes to the dev outbox (not sent): set MAIL_SMTP_HOST to send it');
    return {
      transport: 'outbox',
      async send(mail) {
        checkMail(mail);
        const stored = await outbox.write(options.from, mail);
        logger.info(
          { transport: 'outbox', messageId: stored.messageId, file: stored.emlFile },
          'mail written to the dev outbox',
        );
        return { messageId: stored.messageId };
      },
      listOutbox: (listOptions) => outbox.list(listOptions?.limit ?? DEFAULT_LIST_LIMIT),
      readOutboxMessage: (id) => outbox.read(id),
      close: () => undefined,
    };
  }
  return createSmtpMailer(options.from, transport, logger);
}

/* ------------------------------------------------------------------------ */
/* Checks shared by both transports                                           */
/* ------------------------------------------------------------------------ */

// Deliberately plain: one mailbox, no display name, no comments, no quoted
// local parts. The mail server has the last word on deliverability.
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;

function calendarPart(mail: OutgoingMail): { icalEvent?: { method: string; content: string; filename: string } } {
  if (mail.icalEvent === undefined) return {};
  const { method, content, filename = 'invite.ics' } = mail.icalEvent;
  return { icalEvent: { method, content, filename } };
}

function checkMail(mail: OutgoingMail): void {
  const to = mail.to.trim();
  if (to.length > 254 || !ADDRESS.test(to)) {
    const problem = 'Enter a valid email address, like name@example.com.';
    throw new AppError('VALIDATION_FAILED', { message: problem, fieldErrors: { to: [problem] } });
  }
  if (/[\r\n]/.test(mail.subject)) {
    // A line break in a header is how header injection starts; subjects are ours, so this is a bug.
    throw new AppError('INTERNAL', { message: 'Mail subject contains a line break' });
  }
}

/* ------------------------------------------------------------------------ */
/* SMTP                                                                       */
/* ------------------------------------------------------------------------ */

function createSmtpMailer(from: string, smtp: SmtpTransportOptions, logger: Logger): Mailer {
  const security = smtp.security ?? 'starttls';
  const port = smtp.port ?? DEFAULT_PORTS[security];
  const where = `${smtp.host}:${port}`;
  if ((smtp.user === undefined) !== (smtp.password === undefined)) {
    throw new RangeError('SMTP user and password must be set together');
  }
  const connectTimeoutMs = smtp.connectTimeoutMs ?? 10_000;
  const transporter = nodemailer.createTransport({
    host: smtp.host,
    port,
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    ignoreTLS: security === 'none',
    ...(smtp.user !== undefined && smtp.password !== undefined
      ? { auth: { user: smtp.user, pass: smtp.password } }
      : {}),
    ...(smtp.ca !== undefined ? { tls: { ca: smtp.ca } } : {}),
    connectionTimeout: connectTimeoutMs,
    greetingTimeout: connectTimeoutMs,
    socketTimeout: smtp.socketTimeoutMs ?? 30_000,
    // nodemailer's own logger would print message data at debug; ours never does.
    logger: false,
    debug: false,
  });
  logger.info({ transport: 'smtp', server: where, security, auth: smtp.user !== undefined }, 'mail goes through SMTP');
  if (security === 'none' && smtp.user !== undefined && !isLoopback(smtp.host)) {
    logger.warn(
      { server: where },
      'MAIL_SMTP_SECURITY=none sends the SMTP password unencrypted over the network: use starttls or tls',
    );
  }

  const outboxOff = (): Promise<never> =>
    Promise.reject(
      new AppError('FEATURE_UNAVAILABLE', {
        message: 'The dev outbox is off on this server: mail is sent by email.',
      }),
    );

  return {
    transport: 'smtp',
    async send(mail) {
      checkMail(mail);
      const to = mail.to.trim();
      try {
        const info = await transporter.sendMail({
          from,
          to,
          subject: mail.subject,
          text: mail.text,
          ...(mail.html !== undefined ? { html: mail.html } : {}),
          ...calendarPart(mail),
        });
        logger.info(
          {
            transport: 'smtp',
            server: where,
            messageId: info.messageId,
            toDomain: domainOf(to),
            response: info.response,
          },
          'mail accepted by the SMTP server',
        );
        return { messageId: info.messageId };
      } catch (err) {
        const failure = smtpFailure(err as NodemailerError, where);
        logger[failure.level](
          {
            transport: 'smtp',
            server: where,
            toDomain: domainOf(to),
            smtpCode: (err as NodemailerError).code,
            responseCode: (err as NodemailerError).responseCode,
            command: (err as NodemailerError).command,
            response: (err as NodemailerError).response,
          },
          failure.diagnosis,
        );
        throw new AppError(failure.code, {
          message: failure.userMessage,
          ...(failure.code === 'VALIDATION_FAILED' ? { fieldErrors: { to: [failure.userMessage] } } : {}),
          details: { channel: 'email' },
          cause: new Error(failure.diagnosis, { cause: err }),
        });
      }
    },
    listOutbox: outboxOff,
    readOutboxMessage: outboxOff,
    close: () => transporter.close(),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

interface SmtpFailure {
  code: 'SERVICE_UNAVAILABLE' | 'VALIDATION_FAILED';
  /** Safe to show anyone. */
  userMessage: string;
  /** For the operator: names the server and what to check. */
  diagnosis: string;
  level: 'warn' | 'error';
}

const TRY_LATER = 'We could not send the email right now. Try again in a few minutes.';

function smtpFailure(err: NodemailerError, where: string): SmtpFailure {
  const reply = err.response !== undefined ? ` (server said: ${err.response})` : '';
  const operator = (diagnosis: string): SmtpFailure => ({
    code: 'SERVICE_UNAVAILABLE',
    userMessage: TRY_LATER,
    diagnosis,
    level: 'error',
  });
  const recipientRefused =
    err.code === 'EENVELOPE' &&
    err.permanent === true &&
    (err.command?.toUpperCase().startsWith('RCPT') === true || (err.rejected?.length ?? 0) > 0);
  if (recipientRefused) {
    return {
      code: 'VALIDATION_FAILED',
      userMessage: 'The mail server refused this email address. Check it, or use another one.',
      diagnosis: `SMTP server ${where} refused the recipient${reply}`,
      level: 'warn',
    };
  }
  switch (err.code) {
    case 'EAUTH':
      return operator(
        `SMTP server ${where} rejected the username or password: check MAIL_SMTP_USER and MAIL_SMTP_PASSWORD${reply}`,
      );
    case 'ENOAUTH':
      return operator(`SMTP server ${where} needs credentials: set MAIL_SMTP_USER and MAIL_SMTP_PASSWORD`);
    case 'ETLS':
    case 'EREQUIRETLS':
      return operator(
        `TLS with SMTP server ${where} failed (${err.message}): check MAIL_SMTP_SECURITY, MAIL_SMTP_PORT and the server's certificate`,
      );
    case 'ETIMEDOUT':
      return operator(`SMTP server ${where} did not answer in time (${err.message})`);
    case 'EDNS':
      return operator(`Could not resolve SMTP host ${where} (${err.message}): check MAIL_SMTP_HOST`);
    case 'ECONNECTION':
    case 'ESOCKET': {
      const why = err.originalCode ?? err.message;
      return operator(
        `Could not talk to SMTP server ${where} (${why}): check MAIL_SMTP_HOST, MAIL_SMTP_PORT and MAIL_SMTP_SECURITY`,
      );
    }
    default:
      break;
  }
  if (err.responseCode === 530) {
    return operator(`SMTP server ${where} requires authentication: set MAIL_SMTP_USER and MAIL_SMTP_PASSWORD${reply}`);
  }
  if (/STARTTLS/i.test(err.message)) {
    return operator(
      `SMTP server ${where} does not offer STARTTLS, which MAIL_SMTP_SECURITY=starttls requires (${err.message})`,
    );
  }
  return operator(`SMTP server ${where} did not accept the message: ${err.message}${reply}`);
}

/* ------------------------------------------------------------------------ */
/* Dev outbox                                                                 */
/* ------------------------------------------------------------------------ */

/** `<13-digit epoch ms>-<8 hex>`: sorts by time, and is the only shape read back (no paths). */
const OUTBOX_ID = /^\d{13}-[0-9a-f]{8}$/;

interface OutboxRecord {
  id: string;
  createdAt: number;
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

/**
 * A folder of `<id>.eml` + `<id>.json` pairs. The .json is written last (by
 * rename), so a listed message is always complete. Also usable on its own,
 * e.g. by a CLI command that prints the newest codes.
 */
export class MailOutbox {
  readonly dir: string;
  readonly #keep: number;
  /** Keeps ids strictly increasing within this process, even within one millisecond. */
  #lastStamp = 0;
  readonly #composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  constructor(dir: string, keep: number = DEFAULT_OUTBOX_KEEP) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError('outbox keep must be a whole number of at least 1');
    this.dir = dir;
    this.#keep = keep;
  }

  async write(from: string, mail: OutgoingMail): Promise<OutboxEntry> {
    const built = await this.#composer.sendMail({
      from,
      to: mail.to.trim(),
      subject: mail.subject,
      text: mail.text,
      ...(mail.html !== undefined ? { html: mail.html } : {}),
      ...calendarPart(mail),
    });
    const stamp = (this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1));
    const id = `${String(stamp).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
    const record: OutboxRecord = {
      id,
      createdAt: stamp,
      messageId: built.messageId,
      from,
      to: mail.to.trim(),
      subject: mail.subject,
      text: mail.text,
      html: mail.html ?? null,
    };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // The message holds sign-in codes: readable by this user only.
    await writeFile(join(this.dir, `${id}.eml`), built.message as Buffer, { mode: 0o600 });
    const partial = join(this.dir, `${id}.json.partial`);
    await writeFile(partial, JSON.stringify(record, null, 2), { mode: 0o600 });
    await rename(partial, join(this.dir, `${id}.json`));
    await this.#prune();
    return this.#entry(record);
  }

  async list(limit: number = DEFAULT_LIST_LIMIT): Promise<OutboxEntry[]> {
    const count = Math.min(Math.max(Math.trunc(limit), 1), MAX_LIST_LIMIT);
    const entries: OutboxEntry[] = [];
    for (const id of (await this.#ids()).reverse()) {
      if (entries.length >= count) break;
      const record = await this.#load(id);
      // Pruned or removed by hand since the directory was read: skip it.
      if (record !== null) entries.push(this.#entry(record));
    }
    return entries;
  }

  async read(id: string): Promise<OutboxMessage> {
    const record = OUTBOX_ID.test(id) ? await this.#load(id) : null;
    if (record === null) {
      throw new AppError('NOT_FOUND', { message: 'There is no such message in the dev outbox.' });
    }
    return { ...this.#entry(record), text: record.text, html: record.html };
  }

  /** Ids of complete messages, oldest first. */
  async #ids(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length))
      .filter((id) => OUTBOX_ID.test(id))
      .sort();
  }

  async #load(id: string): Promise<OutboxRecord | null> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as OutboxRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async #prune(): Promise<void> {
    const ids = await this.#ids();
    for (const id of ids.slice(0, Math.max(ids.length - this.#keep, 0))) {
      await rm(join(this.dir, `${id}.json`), { force: true });
      await rm(join(this.dir, `${id}.eml`), { force: true });
    }
  }

  #entry(record: OutboxRecord): OutboxEntry {
    return {
      id: record.id,
      createdAt: record.createdAt,
      messageId: record.messageId,
      from: record.from,
      to: record.to,
      subject: record.subject,
      emlFile: join(this.dir, `${record.id}.eml`),
    };
  }
}
