import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.ts';
import { captureLogs, rejectionOf } from '../../tests/support/logs.ts';
import { parseMail } from '../../tests/support/mime.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import { selfSignedCertificate } from '../../tests/support/tls.ts';
import { createMailer, type Mailer, type MailerOptions, type SmtpTransportOptions } from './mail.ts';

const quiet = pino({ level: 'silent' });
const FROM = 'MegiLance <no-reply@megilance.test>';
const CODE = '493817';
const codeMail = {
  to: 'ana@example.com',
  subject: 'Your MegiLance sign-in code',
  text: `Your code is ${CODE}. It expires in 10 minutes.`,
  html: `<p>Your code is <b>${CODE}</b>. It expires in 10 minutes.</p>`,
};

const INVITE = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n';

let dir: string;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megilance-mail-'));
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function smtpServer(options: Parameters<typeof startTestSmtpServer>[0] = {}): Promise<TestSmtpServer> {
  const server = await startTestSmtpServer(options);
  cleanup.push(() => server.close());
  return server;
}

function mailer(transport: MailerOptions['transport'], logger = quiet): Mailer {
  const m = createMailer({ from: FROM, transport, logger });
  cleanup.push(() => m.close());
  return m;
}

function smtpTo(server: TestSmtpServer, options: Partial<SmtpTransportOptions> = {}): SmtpTransportOptions {
  return { kind: 'smtp', host: server.host, port: server.port, security: 'none', connectTimeoutMs: 2_000, ...options };
}

function asAppError(error: Error): AppError {
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('mail through SMTP', () => {
  it('delivers subject, text and HTML to the recipient', async () => {
    const server = await smtpServer();
    const sent = await mailer(smtpTo(server)).send(codeMail);

    const received = await server.waitForMessage((m) => m.envelopeTo.includes('ana@example.com'));
    expect(received.envelopeFrom).toBe('no-reply@megilance.test');
    expect(received.from).toBe(FROM);
    expect(received.to).toEqual(['ana@example.com']);
    expect(received.subject).toBe(codeMail.subject);
    expect(received.text).toContain(`Your code is ${CODE}.`);
    expect(received.html).toContain(`<b>${CODE}</b>`);
    expect(received.messageId).toBe(sent.messageId);
    expect(received.authUser).toBeNull();
  });

  it('signs in when the server requires it', async () => {
    const server = await smtpServer({ auth: { user: 'mailer', password: 's3cret-pass' } });
    await mailer(smtpTo(server, { user: 'mailer', password: 's3cret-pass' })).send(codeMail);

    const received = await server.waitForMessage();
    expect(received.authUser).toBe('mailer');
    expect(received.subject).toBe(codeMail.subject);
  });

  it('reports rejected credentials to the operator and a plain message to the user', async () => {
    const server = await smtpServer({ auth: { user: 'mailer', password: 's3cret-pass' } });
    const logs = captureLogs();
    const m = mailer(smtpTo(server, { user: 'mailer', password: 'wrong-pass' }), logs.logger);

    const error = asAppError(await rejectionOf(m.send(codeMail)));

    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).toBe('We could not send the email right now. Try again in a few minutes.');
    expect(error.details).toEqual({ channel: 'email' });
    expect((error.cause as Error).message).toMatch(/rejected the username or password.*MAIL_SMTP_PASSWORD/);
    expect(logs.atLeast('error')[0]).toMatchObject({ smtpCode: 'EAUTH', server: `127.0.0.1:${server.port}` });
    expect(logs.text()).not.toContain('wrong-pass');
    expect(server.messages).toHaveLength(0);
  });

  it('says the server wants credentials when none are configured', async () => {
    const server = await smtpServer({ auth: { user: 'mailer', password: 's3cret-pass' } });
    const error = asAppError(await rejectionOf(mailer(smtpTo(server)).send(codeMail)));
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect((error.cause as Error).message).toMatch(/requires authentication.*MAIL_SMTP_USER/);
  });

  it('fails quickly and clearly when the server is down', async () => {
    const server = await startTestSmtpServer();
    await server.close();
    const logs = captureLogs();

    const started = performance.now();
    const error = asAppError(await rejectionOf(mailer(smtpTo(server), logs.logger).send(codeMail)));

    expect(performance.now() - started).toBeLessThan(3_000);
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).not.toContain('127.0.0.1');
    const [line] = logs.atLeast('error');
    expect(line?.msg).toMatch(
      new RegExp(`Could not talk to SMTP server 127\\.0\\.0\\.1:${server.port} \\(ECONNREFUSED\\)`),
    );
  });

  it('will not send, or reveal the password, in clear text when STARTTLS is required but not offered', async () => {
    const server = await smtpServer({ auth: { user: 'mailer', password: 's3cret-pass' } });
    const m = mailer(smtpTo(server, { security: 'starttls', user: 'mailer', password: 's3cret-pass' }));

    const error = asAppError(await rejectionOf(m.send(codeMail)));

    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect((error.cause as Error).message).toMatch(/STARTTLS/);
    expect(server.authAttempts).toEqual([]);
    expect(server.messages).toEqual([]);
  });

  it('upgrades with STARTTLS and trusts a private CA when given one', async (ctx) => {
    const certificate = selfSignedCertificate();
    if (certificate.reason !== null) return ctx.skip(certificate.reason);
    const server = await smtpServer({
      auth: { user: 'mailer', password: 's3cret-pass' },
      tls: { key: certificate.key, cert: certificate.cert },
    });

    const untrusted = mailer(smtpTo(server, { security: 'starttls', user: 'mailer', password: 's3cret-pass' }));
    const refused = asAppError(await rejectionOf(untrusted.send(codeMail)));
    expect(refused.code).toBe('SERVICE_UNAVAILABLE');
    expect(server.authAttempts).toEqual([]);

    const trusting = mailer(
      smtpTo(server, { security: 'starttls', user: 'mailer', password: 's3cret-pass', ca: certificate.cert }),
    );
    await trusting.send(codeMail);
    const received = await server.waitForMessage();
    expect(received.secure).toBe(true);
    expect(server.authAttempts).toEqual([{ user: 'mailer', ok: true, secure: true }]);
  });

  it('marks the address field when the server refuses the recipient', async () => {
    const server = await smtpServer({ refuseRecipient: (address) => address.startsWith('nobody@') });
    const error = asAppError(await rejectionOf(mailer(smtpTo(server)).send({ ...codeMail, to: 'nobody@example.com' })));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fieldErrors?.['to']?.[0]).toMatch(/refused this email address/);
    expect(server.messages).toHaveLength(0);
  });

  it.each(['not-an-address', 'ana@example.com\r\nBcc: eve@example.com', 'Ana <ana@example.com>', ''])(
    'refuses the address %j before connecting',
    async (to) => {
      const server = await smtpServer();
      const error = asAppError(await rejectionOf(mailer(smtpTo(server)).send({ ...codeMail, to })));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.fieldErrors?.['to']).toHaveLength(1);
      expect(server.messages).toHaveLength(0);
    },
  );

  it('never writes the code, subject or body to the log, whatever happens', async () => {
    const server = await smtpServer({ refuseRecipient: (address) => address.startsWith('nobody@') });
    const logs = captureLogs('trace');
    const m = mailer(smtpTo(server), logs.logger);
    await m.send(codeMail);
    await rejectionOf(m.send({ ...codeMail, to: 'nobody@example.com' }));

    expect(logs.atLeast('info').length).toBeGreaterThanOrEqual(2);
    expect(logs.text()).not.toContain(CODE);
    expect(logs.text()).not.toContain(codeMail.subject);
  });

  it('carries a calendar invitation as a text/calendar alternative and an .ics attachment', async () => {
    const server = await smtpServer();
    await mailer(smtpTo(server)).send({ ...codeMail, icalEvent: { method: 'REQUEST', content: INVITE } });

    const received = await server.waitForMessage();
    expect(received.text).toContain(`Your code is ${CODE}.`);
    expect(received.raw).toMatch(/Content-Type: text\/calendar; charset=utf-8; method=REQUEST/i);
    expect(received.raw).toMatch(/Content-Type: application\/ics; name="?invite\.ics"?/i);
    expect(received.raw).toMatch(/Content-Disposition: attachment; filename="?invite\.ics"?/i);
    expect(received.raw).toContain(Buffer.from(INVITE).toString('base64').slice(0, 60));
  });

  it('has no dev outbox to read', async () => {
    const server = await smtpServer();
    const error = asAppError(await rejectionOf(mailer(smtpTo(server)).listOutbox()));
    expect(error.code).toBe('FEATURE_UNAVAILABLE');
  });
});

describe('the dev outbox', () => {
  it('writes each message as a .eml a mail client can open', async () => {
    const outboxDir = join(dir, 'eml');
    const m = mailer({ kind: 'outbox', dir: outboxDir });
    const subject = 'Código de verificación de MegiLance';
    const sent = await m.send({ ...codeMail, subject });

    const [entry] = await m.listOutbox();
    expect(entry?.emlFile).toBe(join(outboxDir, `${entry?.id}.eml`));
    const eml = readFileSync(entry!.emlFile);
    expect(eml.toString('latin1')).toMatch(/\r\n\r\n/); // RFC 5322 line endings
    const parsed = parseMail(eml);
    expect(parsed.subject).toBe(subject);
    expect(parsed.from).toBe(FROM);
    expect(parsed.to).toEqual(['ana@example.com']);
    expect(parsed.messageId).toBe(sent.messageId);
    expect(parsed.text).toContain(`Your code is ${CODE}.`);
    expect(parsed.html).toContain(`<b>${CODE}</b>`);
  });

  it('keeps a calendar invitation in the .eml, named as asked', async () => {
    const m = mailer({ kind: 'outbox', dir: join(dir, 'ics') });
    await m.send({ ...codeMail, icalEvent: { method: 'CANCEL', content: INVITE, filename: 'cancel.ics' } });
    const [entry] = await m.listOutbox();
    const eml = readFileSync(entry!.emlFile, 'latin1');
    expect(eml).toMatch(/text\/calendar; charset=utf-8; method=CANCEL/i);
    expect(eml).toMatch(/filename="?cancel\.ics"?/i);
  });

  it('lists newest first and reads a message back with its code', async () => {
    const m = mailer({ kind: 'outbox', dir: join(dir, 'list') });
    for (const code of ['111111', '222222', '333333']) {
      await m.send({ to: `user-${code}@example.com`, subject: `Code ${code}`, text: `Your code is ${code}.` });
    }

    const all = await m.listOutbox();
    expect(all.map((e) => e.subject)).toEqual(['Code 333333', 'Code 222222', 'Code 111111']);
    expect(all[0]!.createdAt).toBeGreaterThan(all[1]!.createdAt);
    expect((await m.listOutbox({ limit: 2 })).map((e) => e.to)).toEqual([
      'user-333333@example.com',
      'user-222222@example.com',
    ]);

    const newest = await m.readOutboxMessage(all[0]!.id);
    expect(newest.text).toBe('Your code is 333333.');
    expect(newest.html).toBeNull();
    expect(newest.from).toBe(FROM);
  });

  it.each(['0000000000000-00000000', '../../etc/passwd', '1700000000000-abcdef01.json'])(
    'answers NOT_FOUND for the id %j',
    async (id) => {
      const m = mailer({ kind: 'outbox', dir: join(dir, 'missing') });
      await m.send(codeMail);
      expect(asAppError(await rejectionOf(m.readOutboxMessage(id))).code).toBe('NOT_FOUND');
    },
  );

  it('keeps messages across restarts, and only the newest `keep` of them', async () => {
    const outboxDir = join(dir, 'keep');
    const before = mailer({ kind: 'outbox', dir: outboxDir, keep: 3 });
    for (let i = 1; i <= 2; i++) await before.send({ ...codeMail, subject: `Message ${i}` });

    const after = mailer({ kind: 'outbox', dir: outboxDir, keep: 3 });
    expect((await after.listOutbox()).map((e) => e.subject)).toEqual(['Message 2', 'Message 1']);
    for (let i = 3; i <= 5; i++) await after.send({ ...codeMail, subject: `Message ${i}` });

    expect((await after.listOutbox()).map((e) => e.subject)).toEqual(['Message 5', 'Message 4', 'Message 3']);
    expect(readdirSync(outboxDir).sort()).toHaveLength(6);
  });

  it('lists nothing before the first message', async () => {
    expect(await mailer({ kind: 'outbox', dir: join(dir, 'empty') }).listOutbox()).toEqual([]);
  });
});
