/**
 * The one error catalogue. Services throw `AppError` with a code from here;
 * one tRPC middleware (server/trpc.ts) maps each code to its transport status,
 * and clients read `appCode` to show the user-facing message or a translation.
 *
 * `trpc` is the tRPC error code the server answers with; `http` is the HTTP
 * status that code travels as (kept here so non-tRPC routes and tests agree).
 */
export const errorCatalogue = {
  VALIDATION_FAILED: {
    trpc: 'BAD_REQUEST',
    http: 400,
    message: 'Some fields are not valid. Check the highlighted fields and try again.',
  },
  UNAUTHENTICATED: {
    trpc: 'UNAUTHORIZED',
    http: 401,
    message: 'Please sign in to continue.',
  },
  STEP_UP_REQUIRED: {
    trpc: 'FORBIDDEN',
    http: 403,
    message: 'Confirm it is you with your second factor to continue.',
  },
  FORBIDDEN: {
    trpc: 'FORBIDDEN',
    http: 403,
    message: 'You do not have access to this.',
  },
  NOT_FOUND: {
    trpc: 'NOT_FOUND',
    http: 404,
    message: 'We could not find what you were looking for.',
  },
  CONFLICT: {
    trpc: 'CONFLICT',
    http: 409,
    message: 'This was changed by someone else. Reload and try again.',
  },
  PRECONDITION_FAILED: {
    trpc: 'PRECONDITION_FAILED',
    http: 412,
    message: 'This action is not possible in the current state.',
  },
  RATE_LIMITED: {
    trpc: 'TOO_MANY_REQUESTS',
    http: 429,
    message: 'Too many attempts. Wait a moment and try again.',
  },
  FEATURE_UNAVAILABLE: {
    trpc: 'PRECONDITION_FAILED',
    http: 412,
    message: 'This feature is not configured on this server.',
  },
  SERVICE_UNAVAILABLE: {
    trpc: 'SERVICE_UNAVAILABLE',
    http: 503,
    message: 'The server is busy or shutting down. Try again shortly.',
  },
  INTERNAL: {
    trpc: 'INTERNAL_SERVER_ERROR',
    http: 500,
    message: 'Something went wrong on our side. Try again; if it keeps happening, contact support.',
  },
} as const satisfies Record<string, { trpc: string; http: number; message: string }>;

export type AppErrorCode = keyof typeof errorCatalogue;

/** Field-by-field problems with an input, keyed by dotted path ('' for the whole form). */
export type FieldErrors = Record<string, string[]>;

export interface AppErrorOptions {
  /** Overrides the catalogue's user-facing message with a more specific one. */
  message?: string;
  fieldErrors?: FieldErrors;
  /** Extra, non-secret facts for the client (e.g. `retryAfterSeconds`). */
  details?: Record<string, string | number | boolean>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly fieldErrors: FieldErrors | undefined;
  readonly details: Record<string, string | number | boolean> | undefined;

  constructor(code: AppErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? errorCatalogue[code].message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.fieldErrors = options.fieldErrors;
    this.details = options.details;
  }
}

export function isAppErrorCode(value: unknown): value is AppErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

/** The error payload every tRPC error carries in `error.data` (see server/trpc.ts). */
export interface AppErrorData {
  appCode: AppErrorCode;
  fieldErrors: FieldErrors | null;
  details: Record<string, string | number | boolean> | null;
  httpStatus: number;
}
