import pino, { type Logger } from 'pino';
import type { ServerConfig } from './config.ts';

/** Paths pino blanks out wherever they appear in a log line. */
const redact = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.refreshToken',
];

export function createLogger(config: Pick<ServerConfig, 'log' | 'env'>): Logger {
  return pino({
    level: config.log.level,
    base: { service: 'megilance-server' },
    redact,
    ...(config.log.pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' },
          },
        }
      : {}),
  });
}
