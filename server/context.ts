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
import type { Mailer } from './delivery/mail.ts';
import type { SmsSender } from './delivery/sms.ts';
import type { CallService } from './calls/service.ts';
import type { GeoLocation } from './risk/geo.ts';
import type { ReputationLists } from './risk/ip-reputation.ts';
import type { LiveSockets } from './security/live-sockets.ts';
import type { PasswordHasher } from './security/passwords.ts';
import type { SecretBox } from './security/secret-box.ts';

/** A signed-in session as the API sees it. Issued by the accounts domain. */
export interface Session {
  sessionId: string;
  userId: string;
  /** When the user last proved a second factor in this session (epoch ms). */
  mfaVerifiedAt: number | null;
  role: 'member' | 'admin';
}

/** Someone without an account in one meeting's call, by an invite link (server/calls/guests.ts). Never a session. */
export interface GuestIdentity {
  guestId: string;
  meetingId: string;
  displayName: string;
}

/** Who is calling, as far as the transport can tell. */
export interface ClientInfo {
  ip: string;
  userAgent: string | null;
  /** The desktop app identifies itself (`x-megilance-client: desktop`) and keeps tokens in the OS keychain. */
  kind: 'desktop' | 'web';
}

/** Cookies of an HTTP request; null over WebSocket, where nothing can be set. */
export interface CookieJar {
  get(name: string): string | undefined;
  set(name: string, value: string, options: { maxAgeSeconds: number; path: string }): void;
  clear(name: string, options: { path: string }): void;
}

export interface ServerDeps {
  config: ServerConfig;
  logger: Logger;
  db: Kysely<Database>;
  dbEngine: DatabaseEngine;
  lifecycle: ServerLifecycle;
  passwordHasher: PasswordHasher;
  mailer: Mailer;
  /** Text messages: Twilio, the dev outbox, or off (`availability()` says which). */
  sms: SmsSender;
  /** Running calls on the mediasoup worker pool (workers start with the first call). */
  calls: CallService;
  /** Seals secrets stored for reading back (authenticator keys) under the server key. */
  secretBox: SecretBox;
  /** IP block/anonymizer/allow lists, loaded at start-up from RISK_IP_*_FILES. */
  riskLists: ReputationLists;
  /** Offline geo-IP, or nothing when RISK_GEOIP is off. */
  locate: (ip: string) => GeoLocation | null;
  /**
   * The origin users reach the server at: MEGILANCE_PUBLIC_URL, or in
   * development http://localhost:<listening port> (WebAuthn needs a host
   * name, not an IP). Known once the server listens.
   */
  publicOrigin(): string;
  /** Authenticated WebSockets by session, closed when their session ends. */
  liveSockets: LiveSockets;
  /** Live WebSocket connections, for status and drain. */
  connections: { count(): number };
}

export interface RequestContext {
  deps: ServerDeps;
  /** The request's child logger (carries the request id). */
  logger: FastifyBaseLogger;
  session: Session | null;
  /** A guest token (`mlg_…`) instead of a session: reaches only `callerProcedure`s. Absent means none. */
  guest?: GuestIdentity | null | undefined;
  requestId: string;
  client: ClientInfo;
  cookies: CookieJar | null;
}
