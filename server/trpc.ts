/**
 * The base procedures (public, authenticated, step-up) and the one error
 * mapping. Nothing else lives here: domain routers build on these.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import { AppError, errorCatalogue, type AppErrorCode, type AppErrorData, type FieldErrors } from '../shared/errors.ts';
import type { GuestIdentity, RequestContext } from './context.ts';

const fromTrpcCode: Partial<Record<TRPCError['code'], AppErrorCode>> = {
  BAD_REQUEST: 'VALIDATION_FAILED',
  PARSE_ERROR: 'VALIDATION_FAILED',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

export function fieldErrorsOf(error: ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.');
    (out[key] ??= []).push(issue.message);
  }
  return out;
}

const t = initTRPC.context<RequestContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let appCode: AppErrorCode;
    let message: string;
    let fieldErrors: FieldErrors | null = null;
    let details: AppErrorData['details'] = null;
    if (cause instanceof AppError) {
      appCode = cause.code;
      message = cause.message;
      fieldErrors = cause.fieldErrors ?? null;
      details = cause.details ?? null;
    } else if (cause instanceof ZodError) {
      appCode = 'VALIDATION_FAILED';
      message = errorCatalogue.VALIDATION_FAILED.message;
      fieldErrors = fieldErrorsOf(cause);
    } else {
      appCode = fromTrpcCode[error.code] ?? 'INTERNAL';
      // Unknown failures never leak internals; tRPC's own client errors are already plain.
      message = appCode === 'INTERNAL' ? errorCatalogue.INTERNAL.message : error.message;
    }
    // Stacks stay in the server's logs, never in answers.
    const { stack: _stack, ...base } = shape.data;
    const data: AppErrorData & Omit<typeof shape.data, 'stack'> = {
      ...base,
      appCode,
      fieldErrors,
      details,
      httpStatus: errorCatalogue[appCode].http,
    };
    return { ...shape, message, data };
  },
});

/** Maps AppError codes to tRPC codes so the HTTP status is the catalogue's. */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: errorCatalogue[cause.code].trpc, message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

export const publicProcedure = t.procedure.use(appErrors);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.session === null) throw new AppError('UNAUTHENTICATED');
  return next({ ctx: { ...ctx, session: ctx.session } });
});

/** Who takes part in a call: a signed-in user, or a guest of that one meeting (server/calls/guests.ts). */
export type Caller = { kind: 'user'; userId: string } | ({ kind: 'guest' } & GuestIdentity);

/** A call's signaling: a user session or a guest token. Nothing else accepts a guest. */
export const callerProcedure = publicProcedure.use(({ ctx, next }) => {
  const guest = ctx.guest ?? null;
  const caller: Caller | null =
    ctx.session !== null
      ? { kind: 'user', userId: ctx.session.userId }
      : guest !== null
        ? { kind: 'guest', ...guest }
        : null;
  if (caller === null) throw new AppError('UNAUTHENTICATED');
  return next({ ctx: { ...ctx, caller } });
});

/** Platform administration: an admin's session with a fresh second factor (admin actions are sensitive). */
export const adminProcedure = authedProcedure
  .use(({ ctx, next }) => {
    if (ctx.session.role !== 'admin')
      throw new AppError('FORBIDDEN', { message: 'This needs an administrator account.' });
    return next();
  })
  .use(({ ctx, next }) => requireFreshSecondFactor(ctx, next));

export const stepUpProcedure = authedProcedure.use(({ ctx, next }) => requireFreshSecondFactor(ctx, next));

function requireFreshSecondFactor<T>(
  ctx: { session: { mfaVerifiedAt: number | null }; deps: RequestContext['deps'] },
  next: () => T,
): T {
  const verifiedAt = ctx.session.mfaVerifiedAt;
  if (verifiedAt === null || Date.now() - verifiedAt > ctx.deps.config.security.stepUpWindowMs) {
    throw new AppError('STEP_UP_REQUIRED', {
      details: { windowMinutes: Math.round(ctx.deps.config.security.stepUpWindowMs / 60_000) },
    });
  }
  return next();
}
