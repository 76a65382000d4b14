/**
 * A real SMTP server on loopback for tests (the `smtp-server` package): a
 * random port, optional AUTH, optional STARTTLS with a certificate the test
 * supplies, recipients it can be told to refuse. Every accepted message is
 * captured, parsed enough to read its subject, recipients and bodies.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { parseMail, type ParsedMail } from './mime.ts';

export interface CapturedMail extends ParsedMail {
  /** MAIL FROM. */
  envelopeFrom: string;
  /** RCPT TO, in order. */
  envelopeTo: string[];
  /** The user that authenticated on the connection, or null. */
  authUser: string | null;
  /** Whether the connection was encrypted (STARTTLS) when the message was sent. */
  secure: boolean;
  raw: string;
}

export interface TestSmtpServerOptions {
  /** Require AUTH (PLAIN/LOGIN) with exactly these credentials before MAIL FROM. */
  auth?: { user: string; password: string };
  /** Offer STARTTLS with this certificate; without it STARTTLS is not offered. */
  tls?: { key: string; cert: string };
  /** Recipients to refuse with `550 5.1.1 mailbox unavailable`. */
  refuseRecipient?: (address: string) => boolean;
}

export interface TestSmtpServer {
  host: string;
  port: number;
  /** Messages accepted so far, oldest first. */
  messages: CapturedMail[];
  /** Every AUTH attempt, successful or not. */
  authAttempts: { user: string; ok: boolean; secure: boolean }[];
  /** Resolves with the first captured message (already here or still to come) that matches. */
  waitForMessage(predicate?: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  close(): Promise<void>;
}

export async function startTestSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const messages: CapturedMail[] = [];
  const authAttempts: TestSmtpServer['authAttempts'] = [];
  const waiters = new Set<(mail: CapturedMail) => void>();
  const { auth, tls, refuseRecipient } = options;

  const serverOptions: SMTPServerOptions = {
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 500,
    socketTimeout: 10_000,
    disabledCommands: [...(auth === undefined ? ['AUTH'] : []), ...(tls === undefined ? ['STARTTLS'] : [])],
    // AUTH in clear text only when the test offers no TLS at all (loopback).
    allowInsecureAuth: tls === undefined,
    authOptional: auth === undefined,
    ...(tls !== undefined ? { key: tls.key, cert: tls.cert } : {}),
    onAuth(attempt, session, callback) {
      const ok = auth !== undefined && attempt.username === auth.user && attempt.password === auth.password;
      authAttempts.push({ user: attempt.username ?? '', ok, secure: session.secure });
      if (ok) callback(null, { user: attempt.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (refuseRecipient?.(address.address) === true) {
        callback(Object.assign(new Error('5.1.1 Mailbox unavailable'), { responseCode: 550 }));
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const mail: CapturedMail = {
          ...parseMail(raw),
          envelopeFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          authUser: typeof session.user === 'string' ? session.user : null,
          secure: session.secure,
          raw: raw.toString('utf8'),
        };
        messages.push(mail);
        for (const waiter of [...waiters]) waiter(mail);
        callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => undefined); // client disconnects mid-session are not test failures

  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.server.address();
      if (address === null || typeof address === 'string') reject(new Error('SMTP test server has no TCP address'));
      else resolve(address.port);
    });
  });

  return {
    host: '127.0.0.1',
    port,
    messages,
    authAttempts,
    waitForMessage(predicate = () => true, timeoutMs = 5_000) {
      const already = messages.find(predicate);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = (mail: CapturedMail): void => {
          if (!predicate(mail)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `No matching message within ${timeoutMs} ms; captured ${messages.length}: ` +
                JSON.stringify(messages.map((m) => ({ to: m.envelopeTo, subject: m.subject }))),
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
