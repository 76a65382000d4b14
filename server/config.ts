/**
 * Server configuration, parsed once at start-up from the environment (and a
 * `.env` file when present). Every variable is documented in `.env.example`.
 * A bad or missing value stops start-up with a message naming the variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { OutboxTransportOptions, SmtpTransportOptions } from './delivery/mail.ts';
import type { SmsRateLimit, TwilioOptions } from './delivery/sms.ts';
import type { IceServer } from '../shared/calls.ts';
import { parseSecretKey, type SecretKeySource } from './security/secret-box.ts';
import { riskPolicySchema, type RiskPolicy } from './risk/engine.ts';
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    error: 'must be one of true, false, 1, 0, yes, no',
  })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

function defaultDataDir(): string {
  if (process.platform === 'win32') {
    return join(process.env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), 'MegiLance');
  }
  if (process.platform === 'darwin') {
    return join(homedir(), 'Library', 'Application Support', 'MegiLance');
  }
  return join(process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'megilance');
}

function count(min: number, max: number, fallback: number) {
  return z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);
}

/** Comma-separated file paths. */
const iceServersSchema = z
  .array(
    z.object({
      urls: z.union([z.string().regex(/^(stun|turns?):/), z.array(z.string().regex(/^(stun|turns?):/)).min(1)]),
      username: z.string().optional(),
      credential: z.string().optional(),
    }),
  )
  .max(10);

const fileList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  )
  .default([]);

function minutes(min: number, max: number, fallback: number) {
  return z.coerce
    .number({ error: 'must be a number of minutes' })
    .int('must be a whole number of minutes')
    .min(min, `must be at least ${min} minutes`)
    .max(max, `must be at most ${max} minutes`)
    .default(fallback);
}

const databaseUrl = z
  .string()
  .trim()
  .refine((value) => /^(postgres|postgresql):\/\/.+/.test(value) || value.startsWith('sqlite:'), {
    message: 'must start with postgres:// (PostgreSQL) or sqlite: (a SQLite file path)',
  });

export const configSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'must be one of development, production, test',
    })
    .default('development'),
  MEGILANCE_HOST: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  MEGILANCE_PORT: port.default(8420),
  MEGILANCE_TRUST_PROXY: z
    .string()
    .trim()
    .transform((text) =>
      text
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .optional(),
  MEGILANCE_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL, e.g. https://megilance.example.com' })
    .optional(),
  MEGILANCE_DATA_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  DATABASE_URL: databaseUrl.optional(),
  MEGILANCE_RENDERER_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  LOG_PRETTY: booleanFromEnv.optional(),
  SHUTDOWN_GRACE_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must not be negative')
    .max(600_000, 'must be at most 600000 (10 minutes)')
    .default(10_000),
  MAIL_FROM: z.string().trim().min(3, 'must be a sender like MegiLance <no-reply@example.com>').optional(),
  MAIL_SMTP_HOST: z.string().trim().min(1, 'must not be empty').optional(),
  MAIL_SMTP_PORT: port.optional(),
  MAIL_SMTP_SECURITY: z
    .enum(['tls', 'starttls', 'none'], { error: 'must be one of tls, starttls, none' })
    .default('starttls'),
  MAIL_SMTP_USER: z.string().min(1).optional(),
  MAIL_SMTP_PASSWORD: z.string().min(1).optional(),
  MAIL_SMTP_CA_FILE: z.string().trim().min(1).optional(),
  MAIL_SMTP_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(100, 'must be at least 100')
    .max(120_000, 'must be at most 120000')
    .default(10_000),
  MAIL_OUTBOX_DIR: z.string().trim().min(1).optional(),
  MAIL_OUTBOX_KEEP: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .default(500),
  MFA_ENCRYPTION_KEY: z
    .string()
    .transform((text, ctx) => {
      const key = parseSecretKey(text);
      if (key === null) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be base64 of 32 random bytes, e.g. the output of `openssl rand -base64 32`',
        });
        return z.NEVER;
      }
      return key;
    })
    .optional(),
  SMS_TWILIO_ACCOUNT_SID: z
    .string()
    .trim()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio account SID: AC followed by 32 hex digits')
    .optional(),
  SMS_TWILIO_AUTH_TOKEN: z.string().trim().min(1).optional(),
  SMS_TWILIO_FROM: z
    .string()
    .trim()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be a phone number in E.164 form, e.g. +14155550100')
    .optional(),
  SMS_TWILIO_MESSAGING_SERVICE_SID: z
    .string()
    .trim()
    .regex(/^MG[0-9a-fA-F]{32}$/, 'must be a Messaging Service SID: MG followed by 32 hex digits')
    .optional(),
  SMS_TWILIO_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  SMS_TWILIO_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(100, 'must be at least 100')
    .max(120_000, 'must be at most 120000')
    .default(10_000),
  SMS_DEV_OUTBOX: booleanFromEnv.optional(),
  SMS_MAX_PER_HOUR: count(1, 1000, 5),
  SMS_MIN_INTERVAL_SECONDS: count(0, 3600, 30),
  CALLS_WORKERS: z.coerce
    .number({ error: 'must be a number of workers' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(256, 'must be at most 256')
    .optional(),
  CALLS_PORT: port.default(40_000),
  CALLS_LISTEN_IP: z
    .ipv4({ error: 'must be an IPv4 address, e.g. 0.0.0.0 or 127.0.0.1' })
    .or(z.ipv6())
    .default('127.0.0.1'),
  CALLS_ANNOUNCED_ADDRESS: z.string().trim().min(1, 'must not be empty').optional(),
  CALLS_TURN_SERVERS: z
    .string()
    .transform((text, ctx) => {
      const parsed = iceServersSchema.safeParse(
        (() => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            return undefined;
          }
        })(),
      );
      if (!parsed.success) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a JSON array like [{"urls":"turn:turn.example.com:3478","username":"u","credential":"p"}]',
        });
        return z.NEVER;
      }
      return parsed.data;
    })
    .optional(),
  CALLS_RECONNECT_GRACE_SECONDS: count(1, 600, 20),
  MEETING_REMINDER_MINUTES: minutes(0, 24 * 60, 10),
  CALLS_LAST_N: count(1, 49, 9),
  CALLS_MAX_PEERS_PER_ROUTER: count(2, 50, 10),
  CALLS_RECORDING_RETENTION_DAYS: count(0, 36_500, 30),
  CALLS_FFMPEG_PATH: z.string().trim().min(1, 'must not be empty').default('ffmpeg'),
  RISK_IP_BLOCKLIST_FILES: fileList,
  RISK_IP_ANONYMIZER_FILES: fileList,
  RISK_IP_ALLOWLIST_FILES: fileList,
  RISK_MFA_THRESHOLD: count(1, 100, 30),
  RISK_BLOCK_THRESHOLD: count(1, 100, 70),
  RISK_MAX_TRAVEL_KMH: count(1, 100_000, 900),
  RISK_MIN_TRAVEL_KM: count(0, 20_000, 300),
  RISK_ACCOUNT_FAILURES: count(1, 10_000, 5),
  RISK_ACCOUNT_FAILURE_WINDOW_MINUTES: count(1, 10_080, 60),
  RISK_IP_FAILURES: count(1, 100_000, 10),
  RISK_IP_FAILURE_WINDOW_MINUTES: count(1, 10_080, 15),
  RISK_WEIGHTS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object like {"NEW_DEVICE":40}' });
        return z.NEVER;
      }
    })
    .optional(),
  RISK_GEOIP: booleanFromEnv.default(true),
  SIGNIN_MAX_FAILURES_PER_ACCOUNT_HOUR: count(1, 100, 100),
  SIGNIN_MAX_FAILURES_PER_IP_HOUR: count(1, 1_000_000, 500),
  ACCESS_TOKEN_TTL_MINUTES: minutes(1, 60, 15),
  SESSION_IDLE_TTL_MINUTES: minutes(5, 60 * 24 * 90, 60 * 24 * 7),
  SESSION_ABSOLUTE_TTL_MINUTES: minutes(60, 60 * 24 * 365, 60 * 24 * 30),
  STEP_UP_WINDOW_MINUTES: minutes(1, 60, 10),
  MAX_SESSIONS_PER_USER: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(10),
  ARGON2_MEMORY_KIB: z.coerce
    .number({ error: 'must be a number of KiB' })
    .int('must be a whole number of KiB')
    .min(19_456, 'must be at least 19456 (OWASP minimum for argon2id)')
    .max(4_194_304, 'must be at most 4194304 (4 GiB)')
    .default(19_456),
  ARGON2_ITERATIONS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(2, 'must be at least 2 (OWASP minimum at 19 MiB)')
    .max(20, 'must be at most 20')
    .default(2),
  SLOW_QUERY_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must not be negative')
    .default(200),
});

export type RawConfig = z.infer<typeof configSchema>;

export type DatabaseTarget = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

export interface ServerConfig {
  env: RawConfig['NODE_ENV'];
  host: string;
  port: number;
  /**
   * Addresses (IPs or CIDR ranges) of reverse proxies whose X-Forwarded-For is
   * believed: the client IP drives rate limits and risk. Empty = none.
   */
  trustProxy: string[];
  /** The address users reach; in development, derived from host and port when unset. */
  publicUrl: string | null;
  dataDir: string;
  database: DatabaseTarget;
  rendererDir: string;
  log: { level: RawConfig['LOG_LEVEL']; pretty: boolean };
  shutdownGraceMs: number;
  slowQueryMs: number;
  security: SecurityConfig;
  mail: MailConfig;
  sms: SmsConfig;
  calls: CallsConfig;
  /** Scheduled meetings: how many minutes before the start participants are reminded (0 = never). */
  meetings: { reminderMinutes: number };
}

/**
 * How text messages leave: Twilio when it is configured; otherwise, outside
 * production, the dev outbox (next to the mail outbox, so the one outbox page
 * and CLI show both); otherwise SMS is off and the method is unavailable.
 */
export interface SmsConfig {
  transport: { kind: 'twilio'; twilio: TwilioOptions } | { kind: 'outbox'; dir: string } | { kind: 'off' };
  rateLimit: SmsRateLimit;
}

export interface MailConfig {
  from: string;
  transport: SmtpTransportOptions | OutboxTransportOptions;
}

export interface CallsConfig {
  workers: number;
  port: number;
  listenIp: string;
  announcedAddress: string | null;
  iceServers: IceServer[];
  reconnectGraceMs: number;
  /** Video streams forwarded to each participant: the N most relevant. */
  lastN: number;
  /** People on one router before a call spreads to another worker (pipeToRouter). */
  maxPeersPerRouter: number;
  /** Server-side recording (server/calls/recording.ts). */
  recording: {
    /** Files go to <dir>/<meetingId>/<recordingId>.webm. */
    dir: string;
    /** Recordings are deleted this many days after they started; 0 = kept. */
    retentionDays: number;
    ffmpegPath: string;
  };
}

export interface SecurityConfig {
  /** The key that encrypts authenticator-app secrets at rest (server/security/secret-box.ts). */
  secretKey: SecretKeySource;
  accessTokenTtlMs: number;
  sessionIdleTtlMs: number;
  sessionAbsoluteTtlMs: number;
  stepUpWindowMs: number;
  maxSessionsPerUser: number;
  argon2: { memoryKiB: number; iterations: number; parallelism: 1 };
  /** Brute-force limits (ASVS 2.2.1): failed sign-ins per rolling hour, stored so they survive restarts. */
  maxFailuresPerAccountHour: number;
  maxFailuresPerIpHour: number;
  risk: {
    policy: RiskPolicy;
    lists: { block: string[]; anonymizer: string[]; allow: string[] };
    geoIp: boolean;
  };
}

export class ConfigError extends Error {
  readonly problems: { variable: string; problem: string }[];

  constructor(problems: { variable: string; problem: string }[]) {
    const lines = problems.map((p) => `  ${p.variable}: ${p.problem}`);
    super(`Invalid configuration (see .env.example):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * The folder holding package.json above this file: the checkout when run
 * from source (server/config.ts), the app folder when run from the bundle
 * (dist/server/cli.js).
 */
function appRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return resolve(import.meta.dirname, '..');
    dir = parent;
  }
  return dir;
}

/** Parses the environment. Pure: the caller decides where `env` comes from. */
export function parseConfig(env: Record<string, string | undefined>): ServerConfig {
  // Empty strings mean "unset", as most .env tooling treats them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        problem: issue.message,
      })),
    );
  }
  const raw = result.data;
  if (raw.NODE_ENV === 'production') {
    const missing: { variable: string; problem: string }[] = [];
    if (raw.MEGILANCE_PUBLIC_URL === undefined) {
      // Links in mail, passkey origins and guest call links all need the address users reach.
      missing.push({
        variable: 'MEGILANCE_PUBLIC_URL',
        problem: 'is required when NODE_ENV=production (the URL users reach this server at)',
      });
    }
    if (raw.MFA_ENCRYPTION_KEY === undefined) {
      // A key file beside the database would protect nothing; production keeps it in its secret store.
      missing.push({
        variable: 'MFA_ENCRYPTION_KEY',
        problem:
          'is required when NODE_ENV=production (base64 of 32 random bytes: `openssl rand -base64 32`; keep it in your secret store, not the database)',
      });
    }
    if (missing.length > 0) throw new ConfigError(missing);
  }
  const dataDir = resolve(raw.MEGILANCE_DATA_DIR ?? defaultDataDir());
  const mail = mailConfig(raw, dataDir);
  const sms = smsConfig(raw, mail, dataDir);
  let database: DatabaseTarget;
  if (raw.DATABASE_URL === undefined) {
    database = { engine: 'sqlite', file: join(dataDir, 'megilance.sqlite') };
  } else if (raw.DATABASE_URL.startsWith('sqlite:')) {
    const file = raw.DATABASE_URL.slice('sqlite:'.length).replace(/^\/\//, '');
    if (file === '') {
      throw new ConfigError([
        { variable: 'DATABASE_URL', problem: 'sqlite: needs a file path, e.g. sqlite:./data/megilance.sqlite' },
      ]);
    }
    database = { engine: 'sqlite', file: resolve(dataDir, file) };
  } else {
    database = { engine: 'postgres', url: raw.DATABASE_URL };
  }
  return {
    env: raw.NODE_ENV,
    host: raw.MEGILANCE_HOST,
    port: raw.MEGILANCE_PORT,
    trustProxy: raw.MEGILANCE_TRUST_PROXY ?? [],
    publicUrl: raw.MEGILANCE_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    dataDir,
    database,
    rendererDir: resolve(raw.MEGILANCE_RENDERER_DIR ?? join(appRoot(), 'dist', 'renderer')),
    log: { level: raw.LOG_LEVEL, pretty: raw.LOG_PRETTY ?? (process.stdout.isTTY && raw.NODE_ENV !== 'production') },
    shutdownGraceMs: raw.SHUTDOWN_GRACE_MS,
    slowQueryMs: raw.SLOW_QUERY_MS,
    mail,
    sms,
    calls: {
      workers: raw.CALLS_WORKERS ?? Math.max(1, availableParallelism()),
      port: raw.CALLS_PORT,
      listenIp: raw.CALLS_LISTEN_IP,
      announcedAddress: raw.CALLS_ANNOUNCED_ADDRESS ?? null,
      iceServers: raw.CALLS_TURN_SERVERS ?? [],
      reconnectGraceMs: raw.CALLS_RECONNECT_GRACE_SECONDS * 1000,
      lastN: raw.CALLS_LAST_N,
      maxPeersPerRouter: raw.CALLS_MAX_PEERS_PER_ROUTER,
      recording: {
        dir: join(dataDir, 'recordings'),
        retentionDays: raw.CALLS_RECORDING_RETENTION_DAYS,
        ffmpegPath: raw.CALLS_FFMPEG_PATH,
      },
    },
    meetings: { reminderMinutes: raw.MEETING_REMINDER_MINUTES },
    security: {
      secretKey:
        raw.MFA_ENCRYPTION_KEY === undefined
          ? { kind: 'file', path: join(dataDir, 'keys', 'mfa-encryption.key') }
          : { kind: 'env', key: raw.MFA_ENCRYPTION_KEY },
      accessTokenTtlMs: raw.ACCESS_TOKEN_TTL_MINUTES * 60_000,
      sessionIdleTtlMs: raw.SESSION_IDLE_TTL_MINUTES * 60_000,
      sessionAbsoluteTtlMs: raw.SESSION_ABSOLUTE_TTL_MINUTES * 60_000,
      stepUpWindowMs: raw.STEP_UP_WINDOW_MINUTES * 60_000,
      maxSessionsPerUser: raw.MAX_SESSIONS_PER_USER,
      argon2: { memoryKiB: raw.ARGON2_MEMORY_KIB, iterations: raw.ARGON2_ITERATIONS, parallelism: 1 },
      maxFailuresPerAccountHour: raw.SIGNIN_MAX_FAILURES_PER_ACCOUNT_HOUR,
      maxFailuresPerIpHour: raw.SIGNIN_MAX_FAILURES_PER_IP_HOUR,
      risk: {
        policy: riskPolicy(raw),
        lists: {
          block: raw.RISK_IP_BLOCKLIST_FILES,
          anonymizer: raw.RISK_IP_ANONYMIZER_FILES,
          allow: raw.RISK_IP_ALLOWLIST_FILES,
        },
        geoIp: raw.RISK_GEOIP,
      },
    },
  };
}

function riskPolicy(raw: RawConfig): RiskPolicy {
  const result = riskPolicySchema.safeParse({
    mfaThreshold: raw.RISK_MFA_THRESHOLD,
    blockThreshold: raw.RISK_BLOCK_THRESHOLD,
    impossibleTravel: { maxSpeedKmh: raw.RISK_MAX_TRAVEL_KMH, minDistanceKm: raw.RISK_MIN_TRAVEL_KM },
    failureVelocity: {
      accountThreshold: raw.RISK_ACCOUNT_FAILURES,
      accountWindowMinutes: raw.RISK_ACCOUNT_FAILURE_WINDOW_MINUTES,
      ipThreshold: raw.RISK_IP_FAILURES,
      ipWindowMinutes: raw.RISK_IP_FAILURE_WINDOW_MINUTES,
    },
    weights: raw.RISK_WEIGHTS ?? {},
  });
  if (result.success) return result.data;
  const variableFor = (path: PropertyKey[]): string =>
    path[0] === 'weights'
      ? 'RISK_WEIGHTS'
      : path[0] === 'blockThreshold'
        ? 'RISK_BLOCK_THRESHOLD'
        : `RISK_${String(path.at(-1))}`;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: variableFor(issue.path),
      problem: issue.path[0] === 'weights' ? `${issue.path.slice(1).join('.')}: ${issue.message}` : issue.message,
    })),
  );
}

function mailConfig(raw: RawConfig, dataDir: string): MailConfig {
  const problems: { variable: string; problem: string }[] = [];
  if ((raw.MAIL_SMTP_USER === undefined) !== (raw.MAIL_SMTP_PASSWORD === undefined)) {
    problems.push({
      variable: raw.MAIL_SMTP_USER === undefined ? 'MAIL_SMTP_USER' : 'MAIL_SMTP_PASSWORD',
      problem: 'set MAIL_SMTP_USER and MAIL_SMTP_PASSWORD together, or neither',
    });
  }
  if (raw.MAIL_SMTP_HOST !== undefined && raw.MAIL_FROM === undefined && raw.NODE_ENV === 'production') {
    problems.push({ variable: 'MAIL_FROM', problem: 'is required when mail goes through SMTP in production' });
  }
  let ca: string | undefined;
  if (raw.MAIL_SMTP_CA_FILE !== undefined) {
    try {
      ca = readFileSync(raw.MAIL_SMTP_CA_FILE, 'utf8');
    } catch (error) {
      problems.push({
        variable: 'MAIL_SMTP_CA_FILE',
        problem: `cannot be read (${error instanceof Error ? error.message : String(error)})`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const from = raw.MAIL_FROM ?? 'MegiLance <no-reply@localhost>';
  if (raw.MAIL_SMTP_HOST === undefined) {
    return {
      from,
      transport: {
        kind: 'outbox',
        dir: resolve(dataDir, raw.MAIL_OUTBOX_DIR ?? 'mail-outbox'),
        keep: raw.MAIL_OUTBOX_KEEP,
      },
    };
  }
  return {
    from,
    transport: {
      kind: 'smtp',
      host: raw.MAIL_SMTP_HOST,
      security: raw.MAIL_SMTP_SECURITY,
      connectTimeoutMs: raw.MAIL_SMTP_TIMEOUT_MS,
      ...(raw.MAIL_SMTP_PORT === undefined ? {} : { port: raw.MAIL_SMTP_PORT }),
      ...(raw.MAIL_SMTP_USER === undefined || raw.MAIL_SMTP_PASSWORD === undefined
        ? {}
        : { user: raw.MAIL_SMTP_USER, password: raw.MAIL_SMTP_PASSWORD }),
      ...(ca === undefined ? {} : { ca }),
    },
  };
}

function smsConfig(raw: RawConfig, mail: MailConfig, dataDir: string): SmsConfig {
  const rateLimit = { maxPerHour: raw.SMS_MAX_PER_HOUR, minIntervalSeconds: raw.SMS_MIN_INTERVAL_SECONDS };
  const twilioVariables = [
    'SMS_TWILIO_ACCOUNT_SID',
    'SMS_TWILIO_AUTH_TOKEN',
    'SMS_TWILIO_FROM',
    'SMS_TWILIO_MESSAGING_SERVICE_SID',
  ] as const;
  if (twilioVariables.some((name) => raw[name] !== undefined)) {
    const problems: { variable: string; problem: string }[] = [];
    for (const name of ['SMS_TWILIO_ACCOUNT_SID', 'SMS_TWILIO_AUTH_TOKEN'] as const) {
      if (raw[name] === undefined)
        problems.push({ variable: name, problem: 'is required when SMS goes through Twilio' });
    }
    if ((raw.SMS_TWILIO_FROM === undefined) === (raw.SMS_TWILIO_MESSAGING_SERVICE_SID === undefined)) {
      problems.push({
        variable: 'SMS_TWILIO_FROM',
        problem: 'set exactly one of SMS_TWILIO_FROM and SMS_TWILIO_MESSAGING_SERVICE_SID (who the texts come from)',
      });
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return {
      transport: {
        kind: 'twilio',
        twilio: {
          accountSid: raw.SMS_TWILIO_ACCOUNT_SID!,
          authToken: raw.SMS_TWILIO_AUTH_TOKEN!,
          sender:
            raw.SMS_TWILIO_FROM === undefined
              ? { messagingServiceSid: raw.SMS_TWILIO_MESSAGING_SERVICE_SID! }
              : { from: raw.SMS_TWILIO_FROM },
          timeoutMs: raw.SMS_TWILIO_TIMEOUT_MS,
          ...(raw.SMS_TWILIO_BASE_URL === undefined ? {} : { baseUrl: raw.SMS_TWILIO_BASE_URL }),
        },
      },
      rateLimit,
    };
  }
  if (raw.SMS_DEV_OUTBOX === true && raw.NODE_ENV === 'production') {
    throw new ConfigError([
      { variable: 'SMS_DEV_OUTBOX', problem: 'cannot be used in production: configure Twilio (SMS_TWILIO_*)' },
    ]);
  }
  const outbox = raw.SMS_DEV_OUTBOX ?? raw.NODE_ENV !== 'production';
  if (!outbox) return { transport: { kind: 'off' }, rateLimit };
  const dir = mail.transport.kind === 'outbox' ? mail.transport.dir : resolve(dataDir, 'mail-outbox');
  return { transport: { kind: 'outbox', dir }, rateLimit };
}

/** Reads `.env` from the working directory when present (real env wins), then parses. */
export function loadConfig(cwd: string = process.cwd()): ServerConfig {
  const envFile = join(cwd, '.env');
  const fromFile = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  return parseConfig({ ...fromFile, ...process.env });
}
