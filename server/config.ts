/**
 * Server configuration, parsed once at start-up from the environment (and a
 * `.env` file when present). Every variable is documented in `.env.example`.
 * A bad or missing value stops start-up with a message naming the variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
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
  /** The address users reach; in development, derived from host and port when unset. */
  publicUrl: string | null;
  dataDir: string;
  database: DatabaseTarget;
  rendererDir: string;
  log: { level: RawConfig['LOG_LEVEL']; pretty: boolean };
  shutdownGraceMs: number;
  slowQueryMs: number;
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
  if (raw.NODE_ENV === 'production' && raw.MEGILANCE_PUBLIC_URL === undefined) {
    // Links in mail, passkey origins and guest call links all need the address users reach.
    throw new ConfigError([
      {
        variable: 'MEGILANCE_PUBLIC_URL',
        problem: 'is required when NODE_ENV=production (the URL users reach this server at)',
      },
    ]);
  }
  const dataDir = resolve(raw.MEGILANCE_DATA_DIR ?? defaultDataDir());
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
    publicUrl: raw.MEGILANCE_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    dataDir,
    database,
    rendererDir: resolve(raw.MEGILANCE_RENDERER_DIR ?? join(appRoot(), 'dist', 'renderer')),
    log: { level: raw.LOG_LEVEL, pretty: raw.LOG_PRETTY ?? (process.stdout.isTTY && raw.NODE_ENV !== 'production') },
    shutdownGraceMs: raw.SHUTDOWN_GRACE_MS,
    slowQueryMs: raw.SLOW_QUERY_MS,
  };
}

/** Reads `.env` from the working directory when present (real env wins), then parses. */
export function loadConfig(cwd: string = process.cwd()): ServerConfig {
  const envFile = join(cwd, '.env');
  const fromFile = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  return parseConfig({ ...fromFile, ...process.env });
}
