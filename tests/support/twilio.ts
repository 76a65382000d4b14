/**
 * A loopback HTTP server speaking Twilio's Messages API wire format, for
 * tests of code that sends SMS: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
 * with HTTP Basic auth (AccountSid:AuthToken) and a form-encoded body;
 * answers 201 with a Message resource, or Twilio's error JSON
 * `{code, message, more_info, status}`.
 *
 * It validates the way Twilio does with test credentials, including the
 * documented magic numbers: To +15005550001 (21211 invalid),
 * +15005550002 (21612 unroutable), +15005550003 (21408 no geo permission),
 * +15005550004 (21610 opted out), +15005550009 (21614 not SMS-capable);
 * From +15005550001 (21212 invalid), +15005550008 (21611 queue full), and
 * any From not in `fromNumbers` (21606).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface RecordedSms {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  status: 'queued' | 'accepted';
  dateCreated: string;
}

/** Something to do instead of the normal answer, for the next request only. */
export type TwilioFault =
  { kind: 'hang' } | { kind: 'respond'; status: number; body: string; headers?: Record<string, string> };

export interface TestTwilioOptions {
  accountSid?: string;
  authToken?: string;
  /** Numbers the account owns; default the magic valid sender +15005550006. */
  fromNumbers?: string[];
  /** Messaging Services the account has; default one random MG… SID. */
  messagingServiceSids?: string[];
}

export interface TestTwilioServer {
  /** e.g. http://127.0.0.1:PORT: what replaces https://api.twilio.com. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  fromNumbers: string[];
  messagingServiceSids: string[];
  /** Messages accepted (201), oldest first. */
  messages: RecordedSms[];
  /** Every request that reached the server, accepted or not. */
  requests: { method: string; path: string; status: number; errorCode: number | null }[];
  failNext(fault: TwilioFault): void;
  close(): Promise<void>;
}

const MAGIC_TO: Readonly<Record<string, [number, string]>> = {
  '+15005550001': [21211, "The 'To' number +15005550001 is not a valid phone number."],
  '+15005550002': [
    21612,
    "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number",
  ],
  '+15005550003': [
    21408,
    "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003.",
  ],
  '+15005550004': [21610, 'Attempt to send to unsubscribed recipient'],
  '+15005550009': [21614, "'To' number is not a valid mobile number"],
};

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** Twilio's dates: RFC 2822 in GMT, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`. */
const rfc2822 = (date: Date): string => date.toUTCString().replace('GMT', '+0000');

export async function startTestTwilioServer(options: TestTwilioOptions = {}): Promise<TestTwilioServer> {
  const accountSid = options.accountSid ?? `AC${hex(16)}`;
  const authToken = options.authToken ?? hex(16);
  const fromNumbers = options.fromNumbers ?? ['+15005550006'];
  const messagingServiceSids = options.messagingServiceSids ?? [`MG${hex(16)}`];
  const messages: RecordedSms[] = [];
  const requests: TestTwilioServer['requests'] = [];
  let fault: TwilioFault | null = null;

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    payload: object,
    errorCode: number | null = null,
  ): void => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', status, errorCode });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(payload));
  };
  const error = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    code: number,
    message: string,
    extra: object = {},
  ): void =>
    send(
      req,
      res,
      status,
      { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status, ...extra },
      code,
    );

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const pending = fault;
      fault = null;
      if (pending?.kind === 'hang') {
        requests.push({ method: req.method ?? '', path: req.url ?? '', status: 0, errorCode: null });
        return; // never answers; close() cuts the connection
      }
      if (pending?.kind === 'respond') {
        requests.push({ method: req.method ?? '', path: req.url ?? '', status: pending.status, errorCode: null });
        res.writeHead(pending.status, pending.headers ?? { 'content-type': 'application/json' });
        res.end(pending.body);
        return;
      }
      handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });

  function handle(req: IncomingMessage, res: ServerResponse, rawBody: string): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const [user, password] = basicCredentials(req.headers.authorization);
    if (user !== accountSid || password !== authToken) {
      return error(req, res, 401, 20003, 'Authenticate', { detail: 'Your AccountSid or AuthToken was incorrect.' });
    }
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (match === null || decodeURIComponent(match[1]!) !== accountSid) {
      return error(req, res, 404, 20404, `The requested resource ${path} was not found`);
    }
    if (req.method !== 'POST') {
      return error(req, res, 405, 20004, 'Method not allowed');
    }
    const form = new URLSearchParams(
      (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? rawBody : '',
    );
    const to = form.get('To');
    const from = form.get('From');
    const serviceSid = form.get('MessagingServiceSid');
    const body = form.get('Body');

    if (to === null || to === '') return error(req, res, 400, 21604, "A 'To' phone number is required.");
    if (body === null || body === '') return error(req, res, 400, 21602, 'Message body is required.');
    if ((from === null || from === '') && (serviceSid === null || serviceSid === '')) {
      return error(req, res, 400, 21603, "A 'From' phone number is required.");
    }
    if (from !== null && from !== '') {
      if (from === '+15005550001')
        return error(
          req,
          res,
          400,
          21212,
          `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
        );
      if (from === '+15005550008')
        return error(req, res, 400, 21611, `This 'From' number has exceeded the maximum number of queued messages`);
      if (!fromNumbers.includes(from)) {
        return error(
          req,
          res,
          400,
          21606,
          `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
        );
      }
    } else if (!messagingServiceSids.includes(serviceSid!)) {
      return error(req, res, 400, 21701, `The Messaging Service Sid ${serviceSid} is invalid.`);
    }
    const magic = MAGIC_TO[to];
    if (magic !== undefined) return error(req, res, 400, magic[0], magic[1]);
    if (!/^\+?[1-9]\d{6,14}$/.test(to))
      return error(req, res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (body.length > 1600) {
      return error(req, res, 400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    }

    const sid = `SM${hex(16)}`;
    const now = rfc2822(new Date());
    const viaService = from === null || from === '';
    const status = viaService ? 'accepted' : 'queued';
    const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`;
    messages.push({
      sid,
      accountSid,
      to,
      from: viaService ? null : from,
      messagingServiceSid: serviceSid === '' ? null : serviceSid,
      body,
      status,
      dateCreated: now,
    });
    send(req, res, 201, {
      account_sid: accountSid,
      api_version: '2010-04-01',
      body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: viaService ? null : from,
      messaging_service_sid: serviceSid === '' ? null : serviceSid,
      num_media: '0',
      num_segments: viaService ? '0' : String(Math.ceil(body.length / 160)),
      price: null,
      price_unit: 'USD',
      sid,
      status,
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      to,
      uri,
    });
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('Twilio test server has no TCP address'));
      else resolve(address.port);
    });
  });

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    fromNumbers,
    messagingServiceSids,
    messages,
    requests,
    failNext(next) {
      fault = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function basicCredentials(header: string | undefined): [string | null, string | null] {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (match === null) return [null, null];
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? [decoded, null] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}
