/**
 * The dev outbox as a web page (development only): with no SMTP server
 * configured, account mail — verification and sign-in codes — lands in the
 * outbox, and a developer or tester reads it at /dev/mail. Only requests
 * from this machine are answered: the codes in it sign people in.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors.ts';
import type { Mailer } from './mail.ts';

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · MegiLance dev mail</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #8884}pre{white-space:pre-wrap;background:#8881;padding:1rem;border-radius:6px}</style>
</head><body>${body}</body></html>`;
}

export function registerOutboxPage(app: FastifyInstance, mailer: Mailer): void {
  const localOnly = (req: FastifyRequest): boolean => LOOPBACK.test(req.socket.remoteAddress ?? '');

  app.get('/dev/mail', async (req, reply) => {
    if (!localOnly(req))
      return reply.code(403).type('text/plain').send('The dev mail outbox is only shown on this machine.');
    const entries = await mailer.listOutbox({ limit: 100 });
    const rows = entries
      .map(
        (e) =>
          `<tr><td>${escape(new Date(e.createdAt).toLocaleString('en-GB'))}</td><td>${escape(e.to)}</td>` +
          `<td><a href="/dev/mail/${encodeURIComponent(e.id)}">${escape(e.subject)}</a></td></tr>`,
      )
      .join('');
    return reply
      .type('text/html')
      .send(
        page(
          'Outbox',
          `<h1>Dev mail outbox</h1><p>No SMTP server is configured, so MegiLance keeps its mail here (newest first). ` +
            `Set <code>MAIL_SMTP_HOST</code> to send real mail.</p>` +
            (entries.length === 0
              ? '<p>No mail yet.</p>'
              : `<table><thead><tr><th>When</th><th>To</th><th>Subject</th></tr></thead><tbody>${rows}</tbody></table>`),
        ),
      );
  });

  app.get<{ Params: { id: string } }>('/dev/mail/:id', async (req, reply) => {
    if (!localOnly(req))
      return reply.code(403).type('text/plain').send('The dev mail outbox is only shown on this machine.');
    try {
      const message = await mailer.readOutboxMessage(req.params.id);
      return reply
        .type('text/html')
        .send(
          page(
            message.subject,
            `<p><a href="/dev/mail">← All mail</a></p><h1>${escape(message.subject)}</h1>` +
              `<p>From ${escape(message.from)} to ${escape(message.to)}, ${escape(new Date(message.createdAt).toLocaleString('en-GB'))}</p>` +
              `<pre>${escape(message.text)}</pre>`,
          ),
        );
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND')
        return reply.code(404).type('text/plain').send('No such message.');
      throw error;
    }
  });
}
