/**
 * WebSocket connections are authenticated once, when they open. So that a
 * signed-out or revoked session cannot keep listening on an open socket,
 * each authenticated socket is registered under its session: revoking a
 * session closes its sockets at once (this node), and a periodic sweep
 * closes any socket whose session has ended anywhere (another API node,
 * expiry). The client then reconnects without a valid token.
 */
import type { Kysely } from 'kysely';
import type { SecurityConfig } from '../config.ts';
import type { Database } from '../db/schema.ts';

/** The part of a `ws` WebSocket this needs. */
export interface ClosableSocket {
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** Application close code (4000-4999): the session behind this socket ended. */
export const SESSION_ENDED_CLOSE_CODE = 4401;

export class LiveSockets {
  readonly #bySession = new Map<string, Set<ClosableSocket>>();

  add(sessionId: string, socket: ClosableSocket): void {
    let sockets = this.#bySession.get(sessionId);
    if (sockets === undefined) this.#bySession.set(sessionId, (sockets = new Set()));
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && this.#bySession.get(sessionId) === sockets) this.#bySession.delete(sessionId);
    });
  }

  /** Closes every socket of these sessions; returns how many were closed. */
  closeSessions(sessionIds: Iterable<string>, reason = 'Signed out'): number {
    let closed = 0;
    for (const id of sessionIds) {
      for (const socket of this.#bySession.get(id) ?? []) {
        socket.close(SESSION_ENDED_CLOSE_CODE, reason);
        closed++;
      }
      this.#bySession.delete(id);
    }
    return closed;
  }

  sessionIds(): string[] {
    return [...this.#bySession.keys()];
  }

  /** Closes the sockets of sessions that are no longer live in the database (revoked elsewhere, expired). */
  async sweep(db: Kysely<Database>, config: SecurityConfig, now = Date.now()): Promise<number> {
    const ids = this.sessionIds();
    if (ids.length === 0) return 0;
    const live = await db
      .selectFrom('sessions')
      .select('id')
      .where('id', 'in', ids)
      .where('revoked_at', 'is', null)
      .where('absolute_expires_at', '>', now)
      .where('last_seen_at', '>', now - config.sessionIdleTtlMs)
      .execute();
    const stillLive = new Set(live.map((row) => row.id));
    return this.closeSessions(
      ids.filter((id) => !stillLive.has(id)),
      'Session ended',
    );
  }
}
