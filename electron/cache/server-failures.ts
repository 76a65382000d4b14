/**
 * What a failed server call means to the cache and the outbox, read from the
 * error a tRPC client throws: MegiLance's error formatter puts `appCode`,
 * `httpStatus` and `details` in `error.data` (server/trpc.ts); a call that
 * got no answer at all (offline, refused, reset) has no `data`.
 *
 * Duck-typed on that shape, so it needs neither @trpc/client nor the server's
 * types (electron/ may not import server/).
 */
import { isAppErrorCode, type AppErrorCode, type FieldErrors } from '../../shared/errors.ts';

export type ServerFailure =
  /** No answer: offline, connection refused or reset, DNS, or a proxy's error page. Try again later. */
  | { type: 'unreachable'; message: string }
  /** The server answered that it cannot now (5xx, shutting down, rate-limited). Try again later. */
  | { type: 'unavailable'; appCode: AppErrorCode | null; httpStatus: number; message: string }
  /** The session is gone or needs a fresh second factor: nothing can be sent until the user acts. */
  | { type: 'unauthenticated'; appCode: AppErrorCode; message: string }
  /** The entity changed on the server since the version the write was based on. */
  | { type: 'conflict'; message: string; details: Record<string, string | number | boolean> }
  /** Refused for good (validation, not found, forbidden…): sending it again would fail again. */
  | {
      type: 'refused';
      appCode: AppErrorCode;
      httpStatus: number;
      message: string;
      details: Record<string, string | number | boolean>;
      fieldErrors: FieldErrors | null;
    };

interface ErrorData {
  appCode?: unknown;
  httpStatus?: unknown;
  details?: unknown;
  fieldErrors?: unknown;
}

const RETRY_LATER: ReadonlySet<AppErrorCode> = new Set(['SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL']);

export function classifyServerFailure(error: unknown): ServerFailure {
  const message = error instanceof Error ? error.message : String(error);
  const data = (error as { data?: ErrorData | null } | null)?.data ?? null;
  const httpStatus = typeof data?.httpStatus === 'number' ? data.httpStatus : null;
  const appCode = isAppErrorCode(data?.appCode) ? data.appCode : null;
  if (data === null || (appCode === null && httpStatus === null)) return { type: 'unreachable', message };
  if (appCode === null || RETRY_LATER.has(appCode) || (httpStatus ?? 0) >= 500) {
    return { type: 'unavailable', appCode, httpStatus: httpStatus ?? 0, message };
  }
  if (appCode === 'UNAUTHENTICATED' || appCode === 'STEP_UP_REQUIRED')
    return { type: 'unauthenticated', appCode, message };
  const details = isDetails(data.details) ? data.details : {};
  if (appCode === 'CONFLICT') return { type: 'conflict', message, details };
  return {
    type: 'refused',
    appCode,
    httpStatus: httpStatus ?? 0,
    message,
    details,
    fieldErrors: (data.fieldErrors as FieldErrors | null | undefined) ?? null,
  };
}

/** Whether the failure says "the server could not be reached or could not answer now". */
export function isTransient(failure: ServerFailure): boolean {
  return failure.type === 'unreachable' || failure.type === 'unavailable';
}

function isDetails(value: unknown): value is Record<string, string | number | boolean> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
  );
}
