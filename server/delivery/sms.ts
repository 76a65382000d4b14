/**
 * SMS through Twilio's REST API (the Messages resource), spoken directly
 * over HTTP with global fetch: no SDK, and a configurable base URL so tests
 * point it at a loopback server speaking the same wire format.
 *
 * Without Twilio configuration SMS is cleanly off: `availability()` says
 * why and `send` throws FEATURE_UNAVAILABLE. Each destination number is
 * rate limited (per hour and a minimum interval) in the database, so the
 * limit survives restarts and holds across API nodes.
 *
 * Message bodies carry sign-in codes: they are never logged, and phone
 * numbers appear in logs only masked.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { AppError, type AppErrorCode, type AppErrorOptions } from '../../shared/errors.ts';
import type { MailOutbox } from './mail.ts';

export const TWILIO_DEFAULT_BASE_URL = 'https://api.twilio.com';
/** Twilio refuses bodies longer than this (it splits them into at most 10 segments). */
export const SMS_MAX_BODY_LENGTH = 1600;
const HOUR_MS = 3_600_000;
/** Pruning rows idle for over an hour is cheap but needless on every send. */
const PRUNE_EVERY_MS = 10 * 60_000;
const RESERVE_ATTEMPTS = 8;

// Table types for this slice (type aliases, not interfaces: Kysely's
// $extendTables needs them to be assignable to a record).
export type SmsRateLimitsTable = {
  /** E.164 destination number. */
  destination: string;
  /** JSON array of epoch-ms instants of the sends within the last hour, ascending. */
  sent_at_json: string;
  /** Bumped by every update: each write is a compare-and-swap on it. */
  version: number;
  updated_at: number;
};

export type DeliveryTables = { sms_rate_limits: SmsRateLimitsTable };

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** Who the SMS comes from: one of your Twilio numbers (E.164) or a Messaging Service (MG…). */
  sender: { from: string } | { messagingServiceSid: string };
  /** Default https://api.twilio.com; tests point it at a loopback server. */
  baseUrl?: string;
  /** Whole request, response body included. Default 10 000 ms. */
  timeoutMs?: number;
}

export interface SmsRateLimit {
  /** Sends to one number within any rolling hour. Default 5. */
  maxPerHour: number;
  /** Seconds between two sends to one number. Default 30. */
  minIntervalSeconds: number;
}

export const DEFAULT_SMS_RATE_LIMIT: Readonly<SmsRateLimit> = { maxPerHour: 5, minIntervalSeconds: 30 };

export interface SmsSenderOptions {
  /** null = Twilio is not configured on this server. */
  twilio: TwilioOptions | null;
  /**
   * Without Twilio: the dev outbox to keep texts in (development only; the
   * config refuses it in production). Absent too = SMS is off.
   */
  outbox?: MailOutbox | null;
  /** Any Kysely whose database has the sms_rate_limits table (server/delivery/migration.ts). */
  db: Kysely<DeliveryTables>;
  logger: Logger;
  rateLimit?: Partial<SmsRateLimit>;
  /** Epoch ms; injectable so tests can move time. */
  now?: () => number;
}

export type SmsAvailability =
  | { available: true; provider: 'twilio'; sender: 'number' | 'messaging-service' }
  | { available: true; provider: 'outbox'; sender: 'dev-outbox' }
  | { available: false; reason: string };

export interface OutgoingSms {
  /** Phone number in international (E.164) form; spaces, dashes, dots and brackets are ignored. */
  to: string;
  body: string;
}

export interface SentSms {
  /** Twilio's message SID (SM…). */
  sid: string;
  /** Twilio's status at acceptance: usually `queued` (or `accepted` through a Messaging Service). */
  status: string;
  /** The destination as sent, in E.164. */
  to: string;
}

export interface SmsSender {
  availability(): SmsAvailability;
  send(message: OutgoingSms): Promise<SentSms>;
}

const UNCONFIGURED_REASON =
  'SMS is not configured on this server: it needs a Twilio account SID, auth token and a sender ' +
  '(SMS_TWILIO_ACCOUNT_SID, SMS_TWILIO_AUTH_TOKEN, and SMS_TWILIO_FROM or SMS_TWILIO_MESSAGING_SERVICE_SID).';

/** Whether SMS can be sent with these options, and if not, why (operator-facing). */
export function smsAvailability(twilio: TwilioOptions | null, outbox: MailOutbox | null = null): SmsAvailability {
  if (twilio === null) {
    return outbox === null
      ? { available: false, reason: UNCONFIGURED_REASON }
      : { available: true, provider: 'outbox', sender: 'dev-outbox' };
  }
  return { available: true, provider: 'twilio', sender: 'from' in twilio.sender ? 'number' : 'messaging-service' };
}

const E164 = /^\+[1-9]\d{6,14}$/;

export function isE164(value: string): boolean {
  return E164.test(value);
}

/**
 * Accepts what people type ("+44 7700 900123", "+1 (415) 555-0100") and
 * returns E.164, or throws VALIDATION_FAILED with a message for the `to` field.
 */
export function normalizePhoneNumber(input: string, field = 'to'): string {
  const compact = input.trim().replace(/[\s().\u00a0-]/g, '');
  let problem: string | null = null;
  if (compact === '') {
    problem = 'Enter a mobile phone number.';
  } else if (!compact.startsWith('+')) {
    problem = 'Include the country code, starting with + (for example +44 7700 900123).';
  } else if (!E164.test(compact)) {
    problem = 'Enter the number in international format: + then the country code and number, at most 15 digits.';
  }
  if (problem !== null) {
    throw new AppError('VALIDATION_FAILED', {
      message: `Invalid phone number: ${problem}`,
      fieldErrors: { [field]: [problem] },
    });
  }
  return compact;
}

/** "+447700900123" → "+44*******123": enough for an operator to tell numbers apart. */
export function maskPhoneNumber(number: string): string {
  if (number.length <= 6) return '*'.repeat(number.length);
  return `${number.slice(0, 3)}${'*'.repeat(number.length - 6)}${number.slice(-3)}`;
}

export function createSmsSender(options: SmsSenderOptions): SmsSender {
  const limits: SmsRateLimit = { ...DEFAULT_SMS_RATE_LIMIT, ...options.rateLimit };
  if (!Number.isInteger(limits.maxPerHour) || limits.maxPerHour < 1) {
    throw new RangeError('SMS rate limit maxPerHour must be a whole number of at least 1');
  }
  if (!Number.isFinite(limits.minIntervalSeconds) || limits.minIntervalSeconds < 0) {
    throw new RangeError('SMS rate limit minIntervalSeconds must not be negative');
  }
  if (options.twilio !== null) checkBaseUrl(options.twilio.baseUrl ?? TWILIO_DEFAULT_BASE_URL);
  const now = options.now ?? Date.now;
  const logger = options.logger.child({ component: 'sms' });
  const limiter = new DestinationRateLimiter(options.db, limits);
  let lastPrunedAt = -Infinity;

  return {
    availability: () => smsAvailability(options.twilio, options.outbox ?? null),

    async send(message) {
      const twilio = options.twilio;
      const outbox = options.outbox ?? null;
      if (twilio === null && outbox === null) {
        throw new AppError('FEATURE_UNAVAILABLE', {
          message: 'Text messages are not set up on this server.',
          details: { channel: 'sms' },
          cause: new Error(UNCONFIGURED_REASON),
        });
      }
      const to = normalizePhoneNumber(message.to);
      const body = message.body.trim();
      if (body === '' || body.length > SMS_MAX_BODY_LENGTH) {
        const problem =
          body === '' ? 'The message is empty.' : `The message is longer than ${SMS_MAX_BODY_LENGTH} characters.`;
        throw new AppError('VALIDATION_FAILED', { message: problem, fieldErrors: { body: [problem] } });
      }

      const at = now();
      await limiter.reserve(to, at);
      if (at - lastPrunedAt >= PRUNE_EVERY_MS) {
        lastPrunedAt = at;
        await limiter.prune(at).catch((err: unknown) => logger.warn({ err }, 'could not prune SMS rate-limit rows'));
      }

      if (twilio === null) {
        // Development: nothing leaves the machine; the text waits in the outbox (its body holds a code: never logged).
        const stored = await outbox!.write('MegiLance SMS', { to, subject: 'Text message', text: body });
        logger.info({ to: maskPhoneNumber(to), outboxId: stored.id }, 'SMS kept in the dev outbox');
        return { sid: `outbox-${stored.id}`, status: 'stored', to };
      }
      const outcome = await postMessage(twilio, to, body);
      if (outcome.ok) {
        logger.info(
          { to: maskPhoneNumber(to), sid: outcome.sent.sid, status: outcome.sent.status },
          'SMS accepted by Twilio',
        );
        return outcome.sent;
      }
      if (outcome.notSent) {
        // Twilio refused it, so nothing reached the phone: do not count it against the number.
        await limiter
          .release(to, at)
          .catch((err: unknown) => logger.warn({ err }, 'could not release SMS rate-limit slot'));
      }
      // The operator's diagnosis goes to the log and rides along as the error's
      // cause; the AppError's own message is what a user may be shown.
      const diagnosis = outcome.log.message.split(to).join(maskPhoneNumber(to));
      logger[outcome.log.level]({ to: maskPhoneNumber(to), ...outcome.log.fields }, diagnosis);
      throw new AppError(outcome.error.code, { ...outcome.error.options, cause: new Error(diagnosis) });
    },
  };
}

/** The auth token travels with every request: plain HTTP only to this machine (tests, a local relay). */
function checkBaseUrl(baseUrl: string): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new RangeError(`Twilio base URL ${JSON.stringify(baseUrl)} is not a URL`);
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new RangeError(`Twilio base URL ${url.origin} must use https (plain http only on loopback)`);
  }
}

/* ------------------------------------------------------------------------ */
/* Twilio's wire format                                                       */
/* ------------------------------------------------------------------------ */

type PostOutcome =
  | { ok: true; sent: SentSms }
  | {
      ok: false;
      error: { code: AppErrorCode; options: AppErrorOptions };
      /** True when Twilio certainly did not send it (it answered with a refusal, or was never reached). */
      notSent: boolean;
      log: { level: 'warn' | 'error'; message: string; fields: Record<string, unknown> };
    };

interface TwilioErrorBody {
  code?: unknown;
  message?: unknown;
  more_info?: unknown;
  status?: unknown;
}

async function postMessage(twilio: TwilioOptions, to: string, body: string): Promise<PostOutcome> {
  const baseUrl = (twilio.baseUrl ?? TWILIO_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const url = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(twilio.accountSid)}/Messages.json`;
  const form = new URLSearchParams({ To: to, Body: body });
  if ('from' in twilio.sender) form.set('From', twilio.sender.from);
  else form.set('MessagingServiceSid', twilio.sender.messagingServiceSid);
  const timeoutMs = twilio.timeoutMs ?? 10_000;

  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    text = await response.text();
  } catch (err) {
    return unreachable(err, baseUrl, timeoutMs);
  }

  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // handled below: a non-JSON answer is not Twilio's
  }
  if ((status === 201 || status === 200) && isRecord(json) && typeof json['sid'] === 'string') {
    return {
      ok: true,
      sent: {
        sid: json['sid'],
        status: typeof json['status'] === 'string' ? json['status'] : 'queued',
        to: typeof json['to'] === 'string' ? json['to'] : to,
      },
    };
  }
  return refusal(status, isRecord(json) ? json : null, retryAfter);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unavailable(
  message: string,
  details: Record<string, string | number | boolean> = {},
): { code: AppErrorCode; options: AppErrorOptions } {
  return { code: 'SERVICE_UNAVAILABLE', options: { message, details: { channel: 'sms', ...details } } };
}

function unreachable(err: unknown, baseUrl: string, timeoutMs: number): PostOutcome {
  const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : null;
  const causeCode = cause !== null && 'code' in cause && typeof cause.code === 'string' ? cause.code : null;
  const message = timedOut
    ? `Twilio (${baseUrl}) did not answer within ${timeoutMs} ms; the SMS may or may not have been sent`
    : `Could not reach Twilio at ${baseUrl}: ${cause?.message ?? (err instanceof Error ? err.message : String(err))}`;
  return {
    ok: false,
    error: unavailable(
      timedOut ? 'The SMS provider did not answer in time.' : 'The SMS provider could not be reached.',
    ),
    // A refused connection or an unknown host never carried the request; a timeout might have.
    notSent: causeCode === 'ECONNREFUSED' || causeCode === 'ENOTFOUND' || causeCode === 'EAI_AGAIN',
    log: { level: 'error', message, fields: { err: cause ?? err } },
  };
}

/** Destination problems the user can fix by using another number: shown on the `to` field. */
const destinationProblems: Readonly<Record<number, string>> = {
  21211: 'This is not a valid phone number.',
  21612: 'We cannot deliver text messages to this number. Try another number or another sign-in method.',
  21614: 'This number cannot receive text messages. Use a mobile number.',
  21408: 'We cannot send text messages to this country. Use another number or another sign-in method.',
  21610:
    'This number has opted out of our text messages (replied STOP). Text START to opt back in, or use another method.',
};

/** Problems with this server's Twilio setup: the user can do nothing, the operator must. */
const operatorProblems: Readonly<Record<number, string>> = {
  20003: 'Twilio rejected the credentials: check SMS_TWILIO_ACCOUNT_SID and SMS_TWILIO_AUTH_TOKEN',
  20404: 'Twilio does not know this account or endpoint: check SMS_TWILIO_ACCOUNT_SID and SMS_TWILIO_BASE_URL',
  21212: 'Twilio says the sender number is invalid: check SMS_TWILIO_FROM',
  21606: 'Twilio says the sender number is not an SMS-capable number of this account: check SMS_TWILIO_FROM',
  21603: 'Twilio needs a sender: set SMS_TWILIO_FROM or SMS_TWILIO_MESSAGING_SERVICE_SID',
  21611: "The sender number's outgoing SMS queue is full",
  21701: 'Twilio does not know this Messaging Service: check SMS_TWILIO_MESSAGING_SERVICE_SID',
  21703: 'The Messaging Service has no sender numbers in its pool',
  21704: 'The Messaging Service has no sender numbers in its pool',
};

function refusal(status: number, body: TwilioErrorBody | null, retryAfter: string | null): PostOutcome {
  const code = typeof body?.code === 'number' ? body.code : null;
  const twilioMessage = typeof body?.message === 'string' ? body.message : null;
  const fields = {
    httpStatus: status,
    twilioCode: code,
    twilioMessage,
    moreInfo: typeof body?.more_info === 'string' ? body.more_info : null,
  };

  if (code !== null && code in destinationProblems) {
    const problem = destinationProblems[code]!;
    return {
      ok: false,
      error: { code: 'VALIDATION_FAILED', options: { message: problem, fieldErrors: { to: [problem] } } },
      notSent: true,
      // 21408 is fixed in the Twilio console (geo permissions), so the operator should hear of it.
      log: {
        level: 'warn',
        message: `Twilio refused the destination (${code}${code === 21408 ? ': enable this country in the Messaging geo permissions' : ''}): ${twilioMessage ?? 'no message'}`,
        fields,
      },
    };
  }
  if (code !== null && code in operatorProblems) {
    return {
      ok: false,
      error: unavailable('SMS cannot be sent right now because of a problem with this server’s SMS setup.'),
      notSent: true,
      log: {
        level: 'error',
        message: `${operatorProblems[code]!} (Twilio ${code}: ${twilioMessage ?? 'no message'})`,
        fields,
      },
    };
  }
  if (status === 429 || code === 20429) {
    const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
    return {
      ok: false,
      error: unavailable(
        'The SMS provider is busy. Try again shortly.',
        seconds === null ? {} : { retryAfterSeconds: seconds },
      ),
      notSent: true,
      log: { level: 'warn', message: 'Twilio is throttling this account (429)', fields },
    };
  }
  if (status >= 500) {
    return {
      ok: false,
      error: unavailable('The SMS provider is having problems. Try again shortly.'),
      // A 5xx says nothing certain about delivery; keep the slot.
      notSent: false,
      log: { level: 'warn', message: `Twilio answered ${status}`, fields },
    };
  }
  if (body === null || code === null) {
    return {
      ok: false,
      error: unavailable('The SMS provider gave an unexpected answer.'),
      notSent: status >= 400,
      log: {
        level: 'error',
        message: `Unexpected answer from the SMS endpoint (HTTP ${status}, not Twilio's JSON): check SMS_TWILIO_BASE_URL`,
        fields,
      },
    };
  }
  return {
    ok: false,
    error: unavailable('The SMS could not be sent.'),
    notSent: status >= 400 && status < 500,
    log: { level: 'error', message: `Twilio refused the SMS (${code}): ${twilioMessage ?? 'no message'}`, fields },
  };
}

/* ------------------------------------------------------------------------ */
/* Per-destination rate limit                                                 */
/* ------------------------------------------------------------------------ */

/**
 * A rolling-hour log of send instants per number, one row each. Every write
 * is a compare-and-swap on `version`, which needs no engine-specific locking
 * and stays correct with several API nodes on one PostgreSQL.
 */
class DestinationRateLimiter {
  readonly #db: Kysely<DeliveryTables>;
  readonly #limits: SmsRateLimit;

  constructor(db: Kysely<DeliveryTables>, limits: SmsRateLimit) {
    this.#db = db;
    this.#limits = limits;
  }

  /** Records a send at `at`, or throws RATE_LIMITED with retryAfterSeconds. */
  async reserve(destination: string, at: number): Promise<void> {
    for (let attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++) {
      const row = await this.#read(destination);
      const recent = row === undefined ? [] : instantsWithinHour(row.sent_at_json, at);
      const waitMs = this.#waitMs(recent, at);
      if (waitMs > 0) {
        const retryAfterSeconds = Math.ceil(waitMs / 1000);
        throw new AppError('RATE_LIMITED', {
          message: `Too many text messages to this number. Try again in ${describeWait(retryAfterSeconds)}.`,
          details: { retryAfterSeconds, channel: 'sms' },
        });
      }
      const next = JSON.stringify([...recent, at]);
      if (row === undefined) {
        const result = await this.#db
          .insertInto('sms_rate_limits')
          .values({ destination, sent_at_json: next, version: 1, updated_at: at })
          .onConflict((oc) => oc.column('destination').doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1) return;
      } else if (await this.#swap(destination, row.version, next, at)) {
        return;
      }
      // Another request for the same number wrote first: look again.
    }
    throw new AppError('SERVICE_UNAVAILABLE', {
      message: 'Too many simultaneous text messages to this number.',
      details: { channel: 'sms' },
    });
  }

  /** Takes back a send recorded by `reserve` that never left (the provider refused it). */
  async release(destination: string, at: number): Promise<void> {
    for (let attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++) {
      const row = await this.#read(destination);
      if (row === undefined) return;
      const instants = parseInstants(row.sent_at_json);
      const index = instants.lastIndexOf(at);
      if (index === -1) return;
      instants.splice(index, 1);
      if (await this.#swap(destination, row.version, JSON.stringify(instants), at)) return;
    }
  }

  /** Deletes rows with no send in the last hour: they limit nothing. */
  async prune(at: number): Promise<void> {
    await this.#db
      .deleteFrom('sms_rate_limits')
      .where('updated_at', '<', at - HOUR_MS)
      .execute();
  }

  #read(destination: string): Promise<Pick<SmsRateLimitsTable, 'sent_at_json' | 'version'> | undefined> {
    return this.#db
      .selectFrom('sms_rate_limits')
      .select(['sent_at_json', 'version'])
      .where('destination', '=', destination)
      .executeTakeFirst();
  }

  async #swap(destination: string, version: number, sentAtJson: string, at: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('sms_rate_limits')
      .set({ sent_at_json: sentAtJson, version: version + 1, updated_at: at })
      .where('destination', '=', destination)
      .where('version', '=', version)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  #waitMs(recent: number[], at: number): number {
    let wait = 0;
    const last = recent.at(-1);
    if (last !== undefined) wait = Math.max(wait, last + this.#limits.minIntervalSeconds * 1000 - at);
    if (recent.length >= this.#limits.maxPerHour) {
      // The send that has to leave the window before one more fits.
      const blocking = recent[recent.length - this.#limits.maxPerHour]!;
      wait = Math.max(wait, blocking + HOUR_MS - at);
    }
    return wait;
  }
}

function parseInstants(json: string): number[] {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b) : [];
  } catch {
    return [];
  }
}

function instantsWithinHour(json: string, at: number): number[] {
  return parseInstants(json).filter((t) => t > at - HOUR_MS);
}

function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
