/**
 * The `recordings` table (migration 0012_recordings): queries that return
 * plain rows and the view clients get. A row is written when a recording
 * starts (status 'recording') and finished when it stops ('ready' with size
 * and duration, or 'failed' with why).
 */
import type { Kysely } from 'kysely';
import type { RecordingStatus, RecordingView } from '../../shared/calls.ts';
import type { Database } from '../db/schema.ts';

export type RecordingsTable = {
  id: string;
  meeting_id: string;
  session_id: string | null;
  started_by: string | null;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  size_bytes: number | null;
  file_name: string;
  status: RecordingStatus;
  error: string | null;
};

export type RecordingTables = { recordings: RecordingsTable };

export type RecordingsDb = Kysely<Database & RecordingTables>;

/** The database with this table's type (server/db/schema.ts does not list it). */
export function recordingsDb(db: Kysely<Database>): RecordingsDb {
  return db.withTables<RecordingTables>();
}

export type RecordingRow = RecordingsTable & { started_by_name: string | null };

const DAY_MS = 86_400_000;

export function recordingView(row: RecordingRow, retentionDays: number): RecordingView {
  return {
    id: row.id,
    meetingId: row.meeting_id,
    status: row.status,
    startedBy:
      row.started_by === null || row.started_by_name === null
        ? null
        : { userId: row.started_by, displayName: row.started_by_name },
    startedAt: new Date(row.started_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
    durationMs: row.duration_ms,
    sizeBytes: row.size_bytes,
    error: row.error,
    expiresAt: retentionDays === 0 ? null : new Date(row.started_at + retentionDays * DAY_MS),
  };
}

function withStarter(db: RecordingsDb) {
  return db
    .selectFrom('recordings')
    .leftJoin('users', 'users.id', 'recordings.started_by')
    .selectAll('recordings')
    .select('users.display_name as started_by_name');
}

export async function insertRecording(db: RecordingsDb, row: RecordingsTable): Promise<void> {
  await db.insertInto('recordings').values(row).execute();
}

export async function updateRecording(
  db: RecordingsDb,
  id: string,
  patch: Partial<Pick<RecordingsTable, 'ended_at' | 'duration_ms' | 'size_bytes' | 'status' | 'error'>>,
): Promise<void> {
  await db.updateTable('recordings').set(patch).where('id', '=', id).execute();
}

export async function findRecording(db: RecordingsDb, id: string): Promise<RecordingRow | undefined> {
  return withStarter(db).where('recordings.id', '=', id).executeTakeFirst();
}

/** A meeting's recordings, newest first. */
export async function meetingRecordings(db: RecordingsDb, meetingId: string): Promise<RecordingRow[]> {
  return withStarter(db)
    .where('recordings.meeting_id', '=', meetingId)
    .orderBy('recordings.started_at', 'desc')
    .orderBy('recordings.id', 'desc')
    .limit(200)
    .execute();
}

/** The recordings made in these calls, oldest first. */
export async function sessionRecordings(db: RecordingsDb, sessionIds: readonly string[]): Promise<RecordingRow[]> {
  if (sessionIds.length === 0) return [];
  return withStarter(db)
    .where('recordings.session_id', 'in', sessionIds)
    .orderBy('recordings.started_at', 'asc')
    .execute();
}

/** Recordings that started before `before` (retention), oldest first, a batch at a time. */
export async function recordingsStartedBefore(
  db: RecordingsDb,
  before: number,
  limit = 200,
): Promise<RecordingsTable[]> {
  return db
    .selectFrom('recordings')
    .selectAll()
    .where('started_at', '<', before)
    .orderBy('started_at', 'asc')
    .limit(limit)
    .execute();
}

/** Rows still marked 'recording' (after a crash, on the node that was recording them). */
export async function unfinishedRecordings(db: RecordingsDb): Promise<RecordingsTable[]> {
  return db.selectFrom('recordings').selectAll().where('status', '=', 'recording').execute();
}

export async function deleteRecordingRow(db: RecordingsDb, id: string): Promise<void> {
  await db.deleteFrom('recordings').where('id', '=', id).execute();
}
