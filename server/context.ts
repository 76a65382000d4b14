/**
 * What every procedure can reach. `ServerDeps` is built once at start-up;
 * `RequestContext` adds who is asking, resolved per HTTP request or per
 * WebSocket connection.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.ts';
import type { DatabaseEngine } from './db/migrations/index.ts';
import type { Database } from './db/schema.ts';
import type { ServerLifecycle } from './lifecycle.ts';

/** A signed-in session as the API sees it. Issued by the accounts domain. */
export interface Session {
  sessionId: string;
  userId: string;
  /** When the user last proved a second factor in this session (epoch ms). */
  mfaVerifiedAt: number | null;
}

/** Turns request credentials into a session; accounts (server/security) provides the real one. */
export type SessionResolver = (credentials: { authorization: string | undefined }) => Promise<Session | null>;

export interface ServerDeps {
  config: ServerConfig;
  logger: Logger;
  db: Kysely<Database>;
  dbEngine: DatabaseEngine;
  lifecycle: ServerLifecycle;
  resolveSession: SessionResolver;
  /** Live WebSocket connections, for status and drain. */
  connections: { count(): number };
  /** How long a second-factor proof counts as fresh for step-up procedures. */
  stepUpWindowMs: number;
}

export interface RequestContext {
  deps: ServerDeps;
  /** The request's child logger (carries the request id). */
  logger: FastifyBaseLogger;
  session: Session | null;
  requestId: string;
  ip: string;
}

/** No accounts yet: nobody is signed in. Replaced when server/security lands. */
export const anonymousOnly: SessionResolver = () => Promise.resolve(null);
