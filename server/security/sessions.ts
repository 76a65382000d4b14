/**
 * Sessions: one per signed-in device, each with a short-lived access token
 * and a rotating refresh token. Every refresh token is single-use; one
 * presented a second time means it was copied, so the whole session (its
 * token family) is revoked and the event recorded.
 */
import type { Kysely, Transaction } from 'kysely';
import type { IssuedTokens } from '../../shared/accounts.ts';
import { AppError } from '../../shared/errors.ts';
import type { SecurityConfig } from '../config.ts';
import type { Session } from '../context.ts';
import type { Database, SessionsTable } from '../db/schema.ts';
import { recordSecurityEvent } from './events.ts';
import { hashSecret, newId, newToken } from './secrets.ts';

export interface SessionDevice {
  label: string;
  fingerprint: string | null;
  platform: string;
  appVersion: string | null;
  ip: string;
  location: string | null;
}

export interface SessionView {
  id: string;
  deviceLabel: string;
  platform: string;
  appVersion: string | null;
  ip: string;
  location: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  current: boolean;
}

type SessionTokens = Omit<IssuedTokens, 'refreshToken'> & { refreshToken: string };

const LAST_SEEN_RESOLUTION_MS = 60_000;

function expiryReason(
  row: Pick<SessionsTable, 'revoked_at' | 'last_seen_at' | 'absolute_expires_at'>,
  config: SecurityConfig,
  now: number,
): string | null {
  if (row.revoked_at !== null) return 'revoked';
  if (now >= row.absolute_expires_at) return 'absolute_expiry';
  if (now - row.last_seen_at >= config.sessionIdleTtlMs) return 'idle_expiry';
  return null;
}

async function issueTokens(
  tx: Transaction<Database>,
  sessionId: string,
  config: SecurityConfig,
  now: number,
): Promise<SessionTokens> {
  const accessToken = newToken('mla');
  const refreshToken = newToken('mlr');
  const accessExpiresAt = now + config.accessTokenTtlMs;
  await tx
    .updateTable('sessions')
    .set({ access_token_hash: hashSecret(accessToken), access_expires_at: accessExpiresAt, last_seen_at: now })
    .where('id', '=', sessionId)
    .execute();
  await tx
    .insertInto('refresh_tokens')
    .values({ token_hash: hashSecret(refreshToken), session_id: sessionId, issued_at: now, used_at: null })
    .execute();
  return { accessToken, accessExpiresAt: new Date(accessExpiresAt), refreshToken, sessionId };
}

export async function createSession(
  db: Kysely<Database>,
  config: SecurityConfig,
  userId: string,
  device: SessionDevice,
  options: { mfaVerifiedAt: number | null; now?: number },
): Promise<SessionTokens> {
  const now = options.now ?? Date.now();
  const id = newId();
  return db.transaction().execute(async (tx) => {
    // The concurrent-session limit: the least recently used sessions make room.
    const active = await tx
      .selectFrom('sessions')
      .select(['id', 'revoked_at', 'last_seen_at', 'absolute_expires_at'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('last_seen_at', 'asc')
      .execute();
    const live = active.filter((row) => expiryReason(row, config, now) === null);
    const excess = live.length - (config.maxSessionsPerUser - 1);
    for (const old of live.slice(0, Math.max(0, excess))) {
      await tx
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: 'session_limit' })
        .where('id', '=', old.id)
        .execute();
      await recordSecurityEvent(tx, {
        userId,
        kind: 'session_revoked',
        sessionId: old.id,
        at: now,
        detail: { reason: 'session_limit' },
      });
    }
    await tx
      .insertInto('sessions')
      .values({
        id,
        user_id: userId,
        access_token_hash: hashSecret(newToken('mla')), // replaced by issueTokens below
        access_expires_at: now,
        created_at: now,
        last_seen_at: now,
        absolute_expires_at: now + config.sessionAbsoluteTtlMs,
        mfa_verified_at: options.mfaVerifiedAt,
        revoked_at: null,
        revoked_reason: null,
        device_label: device.label,
        device_fingerprint: device.fingerprint,
        platform: device.platform,
        app_version: device.appVersion,
        ip: device.ip,
        location: device.location,
      })
      .execute();
    return issueTokens(tx, id, config, now);
  });
}

/** The session an access token belongs to, or null when it is unknown, expired or revoked. */
export async function resolveAccessToken(
  db: Kysely<Database>,
  config: SecurityConfig,
  accessToken: string,
  now = Date.now(),
): Promise<Session | null> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id',
      'sessions.user_id',
      'sessions.mfa_verified_at',
      'sessions.access_expires_at',
      'sessions.revoked_at',
      'sessions.last_seen_at',
      'sessions.absolute_expires_at',
      'users.role',
      'users.status',
    ])
    .where('sessions.access_token_hash', '=', hashSecret(accessToken))
    .executeTakeFirst();
  if (row === undefined || row.status !== 'active') return null;
  if (now >= row.access_expires_at || expiryReason(row, config, now) !== null) return null;
  if (now - row.last_seen_at >= LAST_SEEN_RESOLUTION_MS) {
    await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', row.id).execute();
  }
  return { sessionId: row.id, userId: row.user_id, mfaVerifiedAt: row.mfa_verified_at, role: row.role };
}

/**
 * Exchanges a refresh token for a new pair. The old token is marked used in
 * the same statement that checks it was unused, so two racing refreshes
 * cannot both succeed: the loser is treated as reuse.
 */
export async function rotateRefreshToken(
  db: Kysely<Database>,
  config: SecurityConfig,
  refreshToken: string,
  context: { ip: string; deviceLabel: string | null },
  now = Date.now(),
): Promise<SessionTokens> {
  const tokenHash = hashSecret(refreshToken);
  const outcome = await db.transaction().execute(async (tx) => {
    const token = await tx
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select([
        'refresh_tokens.session_id',
        'refresh_tokens.used_at',
        'sessions.user_id',
        'sessions.revoked_at',
        'sessions.last_seen_at',
        'sessions.absolute_expires_at',
      ])
      .where('refresh_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (token === undefined) return { kind: 'unknown' as const };
    const expired = expiryReason(token, config, now);
    if (expired !== null && expired !== 'revoked')
      return { kind: 'expired' as const, userId: token.user_id, sessionId: token.session_id, reason: expired };
    if (expired === 'revoked') return { kind: 'revoked' as const };
    const marked = await tx
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (marked.numUpdatedRows !== 1n) {
      await tx
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: 'refresh_token_reuse' })
        .where('id', '=', token.session_id)
        .execute();
      await recordSecurityEvent(tx, {
        userId: token.user_id,
        kind: 'refresh_token_reuse',
        sessionId: token.session_id,
        ip: context.ip,
        deviceLabel: context.deviceLabel,
        at: now,
        detail: { action: 'session revoked' },
      });
      return { kind: 'reused' as const };
    }
    return { kind: 'ok' as const, tokens: await issueTokens(tx, token.session_id, config, now) };
  });
  switch (outcome.kind) {
    case 'ok':
      return outcome.tokens;
    case 'reused':
      throw new AppError('UNAUTHENTICATED', {
        message:
          'This sign-in was ended to protect your account because its credentials were used twice. Please sign in again.',
        details: { reason: 'refresh_token_reuse' },
      });
    case 'expired':
      await db
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: outcome.reason })
        .where('id', '=', outcome.sessionId)
        .where('revoked_at', 'is', null)
        .execute();
      await recordSecurityEvent(db, {
        userId: outcome.userId,
        kind: 'session_expired',
        sessionId: outcome.sessionId,
        at: now,
        detail: { reason: outcome.reason },
      });
      throw new AppError('UNAUTHENTICATED', {
        message: 'Your session has expired. Please sign in again.',
        details: { reason: outcome.reason },
      });
    default:
      throw new AppError('UNAUTHENTICATED', {
        message: 'You have been signed out. Please sign in again.',
        details: { reason: outcome.kind },
      });
  }
}

export async function listSessions(
  db: Kysely<Database>,
  config: SecurityConfig,
  userId: string,
  currentSessionId: string,
  now = Date.now(),
): Promise<SessionView[]> {
  const rows = await db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .orderBy('last_seen_at', 'desc')
    .execute();
  return rows
    .filter((row) => expiryReason(row, config, now) === null)
    .map((row) => ({
      id: row.id,
      deviceLabel: row.device_label,
      platform: row.platform,
      appVersion: row.app_version,
      ip: row.ip,
      location: row.location,
      createdAt: new Date(row.created_at),
      lastSeenAt: new Date(row.last_seen_at),
      current: row.id === currentSessionId,
    }));
}

/** Revokes the user's own session(s); never another user's (the user id is part of the filter). Returns the ids revoked. */
export async function revokeSessions(
  db: Kysely<Database>,
  userId: string,
  which: { sessionId: string } | { allExcept: string } | { all: true },
  reason: string,
  actor: { ip: string; sessionId: string | null },
): Promise<string[]> {
  const now = Date.now();
  return db.transaction().execute(async (tx) => {
    let query = tx.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null);
    if ('sessionId' in which) query = query.where('id', '=', which.sessionId);
    if ('allExcept' in which) query = query.where('id', '!=', which.allExcept);
    const targets = await query.execute();
    for (const { id } of targets) {
      await tx.updateTable('sessions').set({ revoked_at: now, revoked_reason: reason }).where('id', '=', id).execute();
      await recordSecurityEvent(tx, {
        userId,
        kind: reason === 'signed_out' ? 'signed_out' : 'session_revoked',
        sessionId: id,
        ip: actor.ip,
        at: now,
        detail: { reason, by: actor.sessionId },
      });
    }
    return targets.map((target) => target.id);
  });
}
