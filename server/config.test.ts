import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from './config.ts';

function problemsOf(env: Record<string, string>): { variable: string; problem: string }[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const PRODUCTION_KEY = { MFA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };

describe('server configuration', () => {
  it('runs with embedded defaults when nothing is set: SQLite under the data dir, loopback only', () => {
    const config = parseConfig({ MEGILANCE_DATA_DIR: '/var/lib/megilance-test' });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8420);
    expect(config.database).toEqual({ engine: 'sqlite', file: '/var/lib/megilance-test/megilance.sqlite' });
    expect(config.env).toBe('development');
  });

  it('selects PostgreSQL from DATABASE_URL', () => {
    const config = parseConfig({ DATABASE_URL: 'postgres://app:pw@db.internal:5432/megilance' });
    expect(config.database).toEqual({ engine: 'postgres', url: 'postgres://app:pw@db.internal:5432/megilance' });
  });

  it('names each invalid variable and what is wrong with it', () => {
    const problems = problemsOf({ MEGILANCE_PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x/y' });
    expect(problems).toEqual(
      expect.arrayContaining([
        { variable: 'MEGILANCE_PORT', problem: 'must be a port number' },
        { variable: 'LOG_LEVEL', problem: expect.stringContaining('must be one of') as string },
        { variable: 'DATABASE_URL', problem: expect.stringContaining('postgres://') as string },
      ]),
    );
    expect(problemsOf({ MEGILANCE_PORT: '70000' })).toEqual([
      { variable: 'MEGILANCE_PORT', problem: 'must be between 0 and 65535' },
    ]);
  });

  it('requires the public URL and the MFA encryption key in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      {
        variable: 'MEGILANCE_PUBLIC_URL',
        problem: expect.stringContaining('is required when NODE_ENV=production') as string,
      },
      {
        variable: 'MFA_ENCRYPTION_KEY',
        problem: expect.stringContaining('openssl rand -base64 32') as string,
      },
    ]);
    expect(problemsOf({ MFA_ENCRYPTION_KEY: 'c2hvcnQ=' })[0]?.variable).toBe('MFA_ENCRYPTION_KEY');
    expect(parseConfig({}).security.secretKey).toMatchObject({ kind: 'file' });
    expect(problemsOf({ MEGILANCE_PUBLIC_URL: 'ftp://files.example.com' })[0]?.variable).toBe('MEGILANCE_PUBLIC_URL');
    expect(
      parseConfig({ ...PRODUCTION_KEY, NODE_ENV: 'production', MEGILANCE_PUBLIC_URL: 'https://app.example.com/' })
        .publicUrl,
    ).toBe('https://app.example.com');
  });

  it('sends texts through Twilio when configured, to the dev outbox in development, and nowhere in production', () => {
    const sid = `AC${'0'.repeat(32)}`;
    const twilio = parseConfig({
      SMS_TWILIO_ACCOUNT_SID: sid,
      SMS_TWILIO_AUTH_TOKEN: 'token',
      SMS_TWILIO_FROM: '+15005550006',
    }).sms.transport;
    expect(twilio).toMatchObject({ kind: 'twilio', twilio: { accountSid: sid, sender: { from: '+15005550006' } } });
    expect(parseConfig({}).sms.transport.kind).toBe('outbox');
    expect(parseConfig({ SMS_DEV_OUTBOX: 'false' }).sms.transport.kind).toBe('off');
    const production = {
      ...PRODUCTION_KEY,
      NODE_ENV: 'production',
      MEGILANCE_PUBLIC_URL: 'https://megilance.example.com',
    };
    expect(parseConfig(production).sms.transport.kind).toBe('off');
    expect(problemsOf({ ...production, SMS_DEV_OUTBOX: 'true' }).map((p) => p.variable)).toEqual(['SMS_DEV_OUTBOX']);
    // Half a Twilio set-up names what is missing instead of quietly turning SMS off.
    expect(problemsOf({ SMS_TWILIO_ACCOUNT_SID: sid }).map((p) => p.variable)).toEqual([
      'SMS_TWILIO_AUTH_TOKEN',
      'SMS_TWILIO_FROM',
    ]);
    expect(problemsOf({ SMS_TWILIO_ACCOUNT_SID: 'nope' })[0]?.problem).toMatch(/AC followed by 32 hex digits/);
  });

  it('reads .env, with the real environment taking precedence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'megilance-env-'));
    writeFileSync(join(dir, '.env'), 'MEGILANCE_PORT=9911\nLOG_LEVEL=debug\n');
    const before = process.env['LOG_LEVEL'];
    process.env['LOG_LEVEL'] = 'error';
    try {
      const config = loadConfig(dir);
      expect(config.port).toBe(9911);
      expect(config.log.level).toBe('error');
    } finally {
      if (before === undefined) delete process.env['LOG_LEVEL'];
      else process.env['LOG_LEVEL'] = before;
    }
  });

  it('stops `megilance-server start` with a message naming the variable', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'megilance-cfg-'));
    const run = spawnSync(process.execPath, ['server/cli.ts', 'start'], {
      cwd: join(import.meta.dirname, '..'),
      env: {
        PATH: process.env['PATH'],
        MEGILANCE_DATA_DIR: dataDir,
        MEGILANCE_PORT: 'not-a-port',
        SHUTDOWN_GRACE_MS: '-5',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('MEGILANCE_PORT: must be a port number');
    expect(run.stderr).toContain('SHUTDOWN_GRACE_MS: must not be negative');
    expect(run.stdout).not.toContain('MEGILANCE_SERVER_URL=');
  });
});
