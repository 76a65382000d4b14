/**
 * Turns whatever a call threw into what the user should read. Server errors
 * carry `data.appCode` from the shared catalogue (see server/trpc.ts):
 *
 * - When the server sent the catalogue's own message for that code, the user
 *   gets the translation of it (`errors.<CODE>` in the string files).
 * - When the server sent a more specific message (an `AppError` with its own
 *   `message`), that message is shown as is: it says more than the generic one.
 * - A call that never got a tRPC answer is a network problem.
 *
 * Field errors (from zod on the server) are keyed by dotted input path; ''
 * holds problems with the form as a whole.
 */
import { errorCatalogue, isAppErrorCode, type AppErrorCode, type FieldErrors } from '../../../shared/errors.ts';

export type ErrorKind = AppErrorCode | 'network' | 'unknown';
export type ErrorMessageKey = `errors.${ErrorKind}`;

export interface ErrorDescription {
  kind: ErrorKind;
  /** The sentence to show the user. */
  message: string;
  fieldErrors: FieldErrors;
  /** Extra facts from the server (e.g. `retryAfterSeconds`), or empty. */
  details: Readonly<Record<string, string | number | boolean>>;
}

export function describeError(error: unknown, translate: (key: ErrorMessageKey) => string): ErrorDescription {
  const data = isRecord(error) && isRecord(error['data']) ? error['data'] : undefined;
  const appCode = data?.['appCode'];
  if (isAppErrorCode(appCode)) {
    const serverMessage = isRecord(error) && typeof error['message'] === 'string' ? error['message'] : '';
    const specific = serverMessage !== '' && serverMessage !== errorCatalogue[appCode].message;
    return {
      kind: appCode,
      message: specific ? serverMessage : translate(`errors.${appCode}`),
      fieldErrors: fieldErrorsFrom(data?.['fieldErrors']),
      details: detailsFrom(data?.['details']),
    };
  }
  const kind: ErrorKind = isTransportFailure(error) ? 'network' : 'unknown';
  return { kind, message: translate(`errors.${kind}`), fieldErrors: {}, details: {} };
}

/** The first problem with one field, for showing beside it. */
export function fieldError(description: ErrorDescription | null, path: string): string | undefined {
  return description?.fieldErrors[path]?.[0];
}

/** A tRPC client error without a server answer: the request or socket failed on the way. */
function isTransportFailure(error: unknown): boolean {
  if (!isRecord(error)) return false;
  if (error['name'] === 'TRPCClientError') return error['data'] === undefined || error['data'] === null;
  // fetch() rejects with a TypeError when the network is down.
  return error instanceof TypeError;
}

function fieldErrorsFrom(value: unknown): FieldErrors {
  if (!isRecord(value)) return {};
  const out: FieldErrors = {};
  for (const [path, messages] of Object.entries(value)) {
    if (Array.isArray(messages)) {
      const strings = messages.filter((m): m is string => typeof m === 'string');
      if (strings.length > 0) out[path] = strings;
    }
  }
  return out;
}

function detailsFrom(value: unknown): Record<string, string | number | boolean> {
  if (!isRecord(value)) return {};
  const out: Record<string, string | number | boolean> = {};
  for (const [key, detail] of Object.entries(value)) {
    if (typeof detail === 'string' || typeof detail === 'number' || typeof detail === 'boolean') out[key] = detail;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
