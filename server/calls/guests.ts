/**
 * Guests by link. The host of a meeting makes an expiring invite link
 * (`/join/<token>`); someone without an account opens it, gives a name and
 * gets a guest token (`mlg_…`) that reaches only the `calls.*` signaling of
 * that one meeting (server/trpc.ts `callerProcedure`). A guest token is never
 * a user session: every other procedure refuses it. Both secrets are stored
 * only as SHA-256.
 *
 * An invite that is unknown, expired, revoked or whose meeting has ended
 * answers one generic NOT_FOUND, so a link cannot be probed for which it is.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CallInviteView, CreatedCallInvite, GuestInvitePreview, GuestJoinAnswer } from '../../shared/calls.ts';
import { AppError } from '../../shared/errors.ts';
import type { GuestIdentity } from '../context.ts';
import type { Database } from '../db/schema.ts';
import { requireParticipant } from '../meetings/meetings.ts';
import { hashSecret, newId } from '../security/secrets.ts';

export type CallInvitesTable = {
  id: string;
  meeting_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
};

export type CallGuestsTable = {
  id: string;
  invite_id: string;
  meeting_id: string;
  display_name: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
};

/** The tables migration 0014_call_guests creates. */
export type GuestTables = { call_invites: CallInvitesTable; call_guests: CallGuestsTable };

type GuestsDb = Kysely<Database & GuestTables>;

export const GUEST_TOKEN_PREFIX = 'mlg_';
/** A guest's token lasts as long as its invite, and never more than this. */
export const GUEST_TOKEN_MAX_MS = 12 * 3_600_000;

export interface GuestsDeps {
  db: Kysely<Database>;
  now?: () => number;
}

const invalidLink = () =>
  new AppError('NOT_FOUND', { message: 'This invite link has expired or is not valid. Ask the host for a new one.' });

const db = (deps: GuestsDeps): GuestsDb => deps.db.withTables<GuestTables>();
const nowOf = (deps: GuestsDeps) => (deps.now ?? Date.now)();

async function requireHost(deps: GuestsDeps, userId: string, meetingId: string) {
  const { role, meeting } = await requireParticipant(deps, meetingId, userId);
  if (role !== 'host') throw new AppError('FORBIDDEN', { message: 'Only the host can manage invite links.' });
  return meeting;
}

const inviteView = (row: CallInvitesTable): CallInviteView => ({
  id: row.id,
  createdAt: new Date(row.created_at),
  expiresAt: new Date(row.expires_at),
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
});

/** The host makes a link: the answer holds the only copy of its secret. */
export async function createInvite(
  deps: GuestsDeps,
  userId: string,
  input: { meetingId: string; expiresInHours: number },
  publicOrigin: string,
): Promise<CreatedCallInvite> {
  const meeting = await requireHost(deps, userId, input.meetingId);
  if (meeting.ended_at !== null) throw new AppError('PRECONDITION_FAILED', { message: 'This meeting has ended.' });
  const now = nowOf(deps);
  const token = randomBytes(32).toString('base64url');
  const row: CallInvitesTable = {
    id: newId(),
    meeting_id: meeting.id,
    token_hash: hashSecret(token),
    created_by: userId,
    created_at: now,
    expires_at: now + input.expiresInHours * 3_600_000,
    revoked_at: null,
  };
  await db(deps).insertInto('call_invites').values(row).execute();
  return { ...inviteView(row), url: `${publicOrigin}/join/${token}` };
}

export async function listInvites(deps: GuestsDeps, userId: string, meetingId: string): Promise<CallInviteView[]> {
  await requireHost(deps, userId, meetingId);
  const rows = await db(deps)
    .selectFrom('call_invites')
    .selectAll()
    .where('meeting_id', '=', meetingId)
    .orderBy('created_at', 'desc')
    .limit(100)
    .execute();
  return rows.map(inviteView);
}

/** The link stops working, and so do the tokens of the guests who came through it. */
export async function revokeInvite(
  deps: GuestsDeps,
  userId: string,
  input: { meetingId: string; inviteId: string },
): Promise<{ revoked: boolean; guestIds: string[] }> {
  await requireHost(deps, userId, input.meetingId);
  const now = nowOf(deps);
  // Who came in through this link: they leave the running call now, not at their next request.
  const guests = await db(deps)
    .selectFrom('call_guests')
    .select('id')
    .where('invite_id', '=', input.inviteId)
    .where('meeting_id', '=', input.meetingId)
    .where('revoked_at', 'is', null)
    .execute();
  const result = await db(deps)
    .updateTable('call_invites')
    .set({ revoked_at: now })
    .where('id', '=', input.inviteId)
    .where('meeting_id', '=', input.meetingId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  await db(deps)
    .updateTable('call_guests')
    .set({ revoked_at: now })
    .where('invite_id', '=', input.inviteId)
    .where('meeting_id', '=', input.meetingId)
    .where('revoked_at', 'is', null)
    .execute();
  return { revoked: Number(result.numUpdatedRows) > 0, guestIds: guests.map((guest) => guest.id) };
}

/** A usable invite by its secret, with what a guest is shown; NOT_FOUND (always the same) otherwise. */
async function usableInvite(deps: GuestsDeps, token: string) {
  const row = await db(deps)
    .selectFrom('call_invites')
    .innerJoin('meetings', 'meetings.id', 'call_invites.meeting_id')
    .innerJoin('users', 'users.id', 'meetings.host_id')
    .select([
      'call_invites.id',
      'call_invites.meeting_id',
      'call_invites.expires_at',
      'call_invites.revoked_at',
      'meetings.title',
      'meetings.ended_at',
      'users.display_name as host_name',
    ])
    .where('call_invites.token_hash', '=', hashSecret(token))
    .executeTakeFirst();
  if (row === undefined || row.revoked_at !== null || row.ended_at !== null || nowOf(deps) >= row.expires_at)
    throw invalidLink();
  return row;
}

export async function previewInvite(deps: GuestsDeps, token: string): Promise<GuestInvitePreview> {
  const invite = await usableInvite(deps, token);
  return { meetingTitle: invite.title, hostName: invite.host_name, expiresAt: new Date(invite.expires_at) };
}

export async function joinAsGuest(
  deps: GuestsDeps,
  input: { token: string; displayName: string },
): Promise<GuestJoinAnswer> {
  const invite = await usableInvite(deps, input.token);
  const now = nowOf(deps);
  const guestToken = `${GUEST_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = Math.min(invite.expires_at, now + GUEST_TOKEN_MAX_MS);
  await db(deps)
    .insertInto('call_guests')
    .values({
      id: newId(),
      invite_id: invite.id,
      meeting_id: invite.meeting_id,
      display_name: input.displayName,
      token_hash: hashSecret(guestToken),
      created_at: now,
      expires_at: expiresAt,
      revoked_at: null,
    })
    .execute();
  return { guestToken, meetingId: invite.meeting_id, displayName: input.displayName, expiresAt: new Date(expiresAt) };
}

/** A guest with what decides whether they may still be in: their own and their invite's expiry and revocation, the meeting's end. */
function guestState(deps: GuestsDeps) {
  return db(deps)
    .selectFrom('call_guests')
    .innerJoin('call_invites', 'call_invites.id', 'call_guests.invite_id')
    .innerJoin('meetings', 'meetings.id', 'call_guests.meeting_id')
    .select([
      'call_guests.id',
      'call_guests.meeting_id',
      'call_guests.display_name',
      'call_guests.expires_at',
      'call_guests.revoked_at',
      'call_invites.expires_at as invite_expires_at',
      'call_invites.revoked_at as invite_revoked_at',
      'meetings.ended_at',
    ]);
}

type GuestStateRow = {
  expires_at: number;
  revoked_at: number | null;
  invite_expires_at: number;
  invite_revoked_at: number | null;
};

/** The guest or their link was withdrawn, or one of them ran out. */
function withdrawn(row: GuestStateRow, now: number): boolean {
  return (
    row.revoked_at !== null || row.invite_revoked_at !== null || now >= row.expires_at || now >= row.invite_expires_at
  );
}

/**
 * The guest a token belongs to while it, its invite and its meeting are all
 * still good; null otherwise. Read on every request, so a revoked link or an
 * ended meeting stops its guests at once.
 */
export async function resolveGuestToken(deps: GuestsDeps, token: string): Promise<GuestIdentity | null> {
  if (!token.startsWith(GUEST_TOKEN_PREFIX)) return null;
  const row = await guestState(deps).where('call_guests.token_hash', '=', hashSecret(token)).executeTakeFirst();
  if (row === undefined || row.ended_at !== null || withdrawn(row, nowOf(deps))) return null;
  return { guestId: row.id, meetingId: row.meeting_id, displayName: row.display_name };
}

/** A guest's membership of a meeting's call, checked again from the database (the link may have been revoked since). */
export async function requireGuestMember(
  deps: GuestsDeps,
  guest: { guestId: string; meetingId: string },
  meetingId: string,
): Promise<{ displayName: string }> {
  const notFound = () =>
    new AppError('NOT_FOUND', { message: 'There is no such meeting, or you are not invited to it.' });
  if (guest.meetingId !== meetingId) throw notFound();
  const row = await guestState(deps)
    .where('call_guests.id', '=', guest.guestId)
    .where('call_guests.meeting_id', '=', meetingId)
    .executeTakeFirst();
  if (row === undefined) throw notFound();
  if (row.ended_at !== null) {
    throw new AppError('PRECONDITION_FAILED', { message: 'This meeting has ended.', details: { reason: 'ended' } });
  }
  if (withdrawn(row, nowOf(deps))) {
    throw new AppError('UNAUTHENTICATED', { message: 'Your guest link has expired or was withdrawn by the host.' });
  }
  return { displayName: row.display_name };
}

/**
 * Guessing links: at most `limit` preview/join attempts per IP per window.
 * In memory, per node: enough to make guessing 256-bit secrets pointless
 * noise rather than to stop a determined crowd.
 */
export class GuestAttemptLimiter {
  readonly #attempts = new Map<string, { windowStart: number; count: number }>();
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(limit = 60, windowMs = 60_000, now: () => number = Date.now) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  check(ip: string): void {
    const now = this.#now();
    if (this.#attempts.size > 10_000) {
      for (const [key, entry] of this.#attempts)
        if (now - entry.windowStart >= this.#windowMs) this.#attempts.delete(key);
    }
    const entry = this.#attempts.get(ip);
    if (entry === undefined || now - entry.windowStart >= this.#windowMs) {
      this.#attempts.set(ip, { windowStart: now, count: 1 });
      return;
    }
    entry.count += 1;
    if (entry.count > this.#limit) {
      throw new AppError('RATE_LIMITED', {
        message: 'Too many attempts with invite links. Wait a minute and try again.',
      });
    }
  }
}
