/** The append-only security event log (the database refuses updates and deletes). */
import type { Kysely } from 'kysely';
import type { SecurityEventKind, SecurityEventView } from '../../shared/security-events.ts';
import type { Database } from '../db/schema.ts';

export interface SecurityEventInput {
  userId: string | null;
  kind: SecurityEventKind;
  ip?: string | null;
  deviceLabel?: string | null;
  sessionId?: string | null;
  detail?: Record<string, string | number | boolean | null>;
  at?: number;
}

export async function recordSecurityEvent(db: Kysely<Database>, event: SecurityEventInput): Promise<void> {
  await db
    .insertInto('security_events')
    .values({
      user_id: event.userId,
      kind: event.kind,
      at: event.at ?? Date.now(),
      ip: event.ip ?? null,
      device_label: event.deviceLabel ?? null,
      session_id: event.sessionId ?? null,
      detail_json: JSON.stringify(event.detail ?? {}),
    })
    .execute();
}

/** A user's own events, newest first, paged by id. */
export async function listSecurityEvents(
  db: Kysely<Database>,
  userId: string,
  page: { beforeId?: number | undefined; limit: number },
): Promise<SecurityEventView[]> {
  let query = db.selectFrom('security_events').selectAll().where('user_id', '=', userId);
  if (page.beforeId !== undefined) query = query.where('id', '<', page.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(page.limit).execute();
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind as SecurityEventKind,
    at: new Date(row.at),
    ip: row.ip,
    deviceLabel: row.device_label,
    sessionId: row.session_id,
    detail: JSON.parse(row.detail_json) as SecurityEventView['detail'],
  }));
}
