/**
 * A pino logger whose lines a test can read back: to assert what an
 * operator would see, and what must never reach a log (codes, secrets).
 */
import pino, { type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg?: string;
  [field: string]: unknown;
}

export interface CapturedLogs {
  logger: Logger;
  lines: LogLine[];
  /** Every line as JSON, one per line: for "never contains" assertions. */
  text(): string;
  /** Lines at or above a pino level name. */
  atLeast(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'): LogLine[];
}

export function captureLogs(level: pino.LevelWithSilent = 'trace'): CapturedLogs {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return {
    logger,
    lines,
    text: () => lines.map((line) => JSON.stringify(line)).join('\n'),
    atLeast: (name) => lines.filter((line) => line.level >= pino.levels.values[name]!),
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`, { cause: error });
  }
  throw new Error('expected the promise to reject, but it resolved');
}
