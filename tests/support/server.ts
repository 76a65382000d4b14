/** Starts real MegiLance servers for tests: a fresh data dir, a free port, quiet logs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig, type ServerConfig } from '../../server/config.ts';
import { startServer, type RunningServer, type StartOptions } from '../../server/main.ts';

export interface TestServer extends RunningServer {
  dataDir: string;
  /** Stops the server (if still running) and removes its data dir. */
  dispose(): Promise<void>;
}

export function testConfig(env: Record<string, string> = {}): ServerConfig {
  const dataDir = mkdtempSync(join(tmpdir(), 'megilance-test-'));
  return parseConfig({
    NODE_ENV: 'test',
    MEGILANCE_PORT: '0',
    MEGILANCE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
}

export async function startTestServer(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<TestServer> {
  const config = testConfig(env);
  const logger = pino({ level: config.log.level });
  const server = await startServer(config, { logger, ...options });
  return {
    ...server,
    dataDir: config.dataDir,
    async dispose() {
      await server.stop('test finished');
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
