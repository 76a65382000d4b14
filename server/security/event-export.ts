/**
 * Security log export for administrators: every user's events (or one
 * user's), in a time range, as JSON or CSV. CSV cells that a spreadsheet
 * would run as a formula are neutralised (OWASP CSV injection).
 */
import type { Kysely } from 'kysely';
import type { SecurityEventKind } from '../../shared/security-events.ts';
import type { Database } from '../db/schema.ts';

export interface EventExportFilter {
  userEmail?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  kinds?: SecurityEventKind[] | undefined;
  limit: number;
}

export interface ExportedEvent {
  id: number;
  at: string;
  kind: SecurityEventKind;
  userId: string | null;
  userEmail: string | null;
  ip: string | null;
  deviceLabel: string | null;
  sessionId: string | null;
  detail: Record<string, unknown>;
}

export async function exportSecurityEvents(db: Kysely<Database>, filter: EventExportFilter): Promise<ExportedEvent[]> {
  let query = db
    .selectFrom('security_events')
    .leftJoin('users', 'users.id', 'security_events.user_id')
    .select([
      'security_events.id',
      'security_events.at',
      'security_events.kind',
      'security_events.user_id',
      'users.email',
      'security_events.ip',
      'security_events.device_label',
      'security_events.session_id',
      'security_events.detail_json',
    ]);
  if (filter.userEmail !== undefined)
    query = query.where('users.email_normalized', '=', filter.userEmail.trim().toLowerCase());
  if (filter.from !== undefined) query = query.where('security_events.at', '>=', filter.from.getTime());
  if (filter.to !== undefined) query = query.where('security_events.at', '<', filter.to.getTime());
  if (filter.kinds !== undefined && filter.kinds.length > 0)
    query = query.where('security_events.kind', 'in', filter.kinds);
  const rows = await query.orderBy('security_events.id', 'asc').limit(filter.limit).execute();
  return rows.map((row) => ({
    id: row.id,
    at: new Date(row.at).toISOString(),
    kind: row.kind as SecurityEventKind,
    userId: row.user_id,
    userEmail: row.email,
    ip: row.ip,
    deviceLabel: row.device_label,
    sessionId: row.session_id,
    detail: JSON.parse(row.detail_json) as Record<string, unknown>,
  }));
}

const CSV_COLUMNS = ['id', 'at', 'kind', 'userId', 'userEmail', 'ip', 'deviceLabel', 'sessionId', 'detail'] as const;

function csvCell(value: string | number | null | Record<string, unknown>): string {
  let text = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // A leading =, +, -, @, tab or CR makes spreadsheets evaluate the cell.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV with a header row and CRLF line ends. */
export function toCsv(events: ExportedEvent[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const event of events) lines.push(CSV_COLUMNS.map((column) => csvCell(event[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
