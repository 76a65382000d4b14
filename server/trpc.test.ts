import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import pino from 'pino';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, errorCatalogue, type AppErrorCode } from '../shared/errors.ts';
import type { RequestContext, ServerDeps, Session } from './context.ts';
import { authedProcedure, publicProcedure, router, stepUpProcedure } from './trpc.ts';

// A router built from the real base procedures, served over real HTTP semantics (the fetch adapter).
const testRouter = router({
  fail: publicProcedure.input(z.object({ code: z.string() })).query(({ input }) => {
    throw new AppError(
      input.code as AppErrorCode,
      input.code === 'RATE_LIMITED' ? { details: { retryAfterSeconds: 30 } } : {},
    );
  }),
  crash: publicProcedure.query(() => {
    throw new Error('database password is hunter2');
  }),
  createProfile: publicProcedure
    .input(
      z.object({
        name: z.string().min(2, 'Name is too short'),
        rate: z.object({ amount: z.number().int().positive() }),
      }),
    )
    .mutation(({ input }) => ({ created: input.name })),
  whoami: authedProcedure.query(({ ctx }) => ctx.session.userId),
  payout: stepUpProcedure.mutation(() => 'paid'),
});

const deps = { config: { security: { stepUpWindowMs: 10 * 60_000 } } } as ServerDeps;

async function call(path: string, init: { input?: unknown; method?: 'GET' | 'POST'; session?: Session | null } = {}) {
  const method = init.method ?? 'GET';
  const encoded = encodeURIComponent(JSON.stringify(superjson.serialize(init.input ?? null)));
  const url = `http://localhost/trpc/${path}${method === 'GET' ? `?input=${encoded}` : ''}`;
  const request = new Request(url, {
    method,
    ...(method === 'POST'
      ? { body: JSON.stringify(superjson.serialize(init.input)), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const response = await fetchRequestHandler({
    endpoint: '/trpc',
    req: request,
    router: testRouter,
    createContext: (): RequestContext => ({
      deps,
      logger: pino({ level: 'silent' }),
      session: init.session ?? null,
      requestId: 'test',
      client: { ip: '127.0.0.1', userAgent: null, kind: 'web' },
      cookies: null,
    }),
  });
  const body = (await response.json()) as { error?: { json: { message: string; data: Record<string, unknown> } } };
  return { status: response.status, error: body.error?.json };
}

describe('error catalogue mapping', () => {
  it.each(Object.keys(errorCatalogue) as AppErrorCode[])(
    'AppError %s answers with its catalogue status and code',
    async (code) => {
      const { status, error } = await call('fail', { input: { code } });
      expect(status).toBe(errorCatalogue[code].http);
      expect(error?.data['appCode']).toBe(code);
      expect(error?.data['httpStatus']).toBe(errorCatalogue[code].http);
      expect(error?.message).toBe(errorCatalogue[code].message);
    },
  );

  it('passes details such as retry-after through to the client', async () => {
    const { error } = await call('fail', { input: { code: 'RATE_LIMITED' } });
    expect(error?.data['details']).toEqual({ retryAfterSeconds: 30 });
  });

  it('never leaks an unexpected error or its stack', async () => {
    const { status, error } = await call('crash');
    expect(status).toBe(500);
    expect(error?.message).toBe(errorCatalogue.INTERNAL.message);
    expect(JSON.stringify(error)).not.toContain('hunter2');
    expect(error?.data['stack']).toBeUndefined();
  });

  it('returns zod input errors field by field', async () => {
    const { status, error } = await call('createProfile', {
      method: 'POST',
      input: { name: 'A', rate: { amount: -5 } },
    });
    expect(status).toBe(400);
    expect(error?.data['appCode']).toBe('VALIDATION_FAILED');
    expect(error?.data['fieldErrors']).toEqual({
      name: ['Name is too short'],
      'rate.amount': [expect.stringContaining('>0') as string],
    });
  });

  it('refuses anonymous callers on authenticated procedures', async () => {
    const { status, error } = await call('whoami');
    expect(status).toBe(401);
    expect(error?.data['appCode']).toBe('UNAUTHENTICATED');
    const ok = await call('whoami', {
      session: { sessionId: 's1', userId: 'u1', mfaVerifiedAt: null, role: 'member' },
    });
    expect(ok.status).toBe(200);
  });

  it('requires a fresh second factor for step-up procedures', async () => {
    const stale = await call('payout', {
      method: 'POST',
      session: { sessionId: 's1', userId: 'u1', mfaVerifiedAt: Date.now() - 11 * 60_000, role: 'member' },
    });
    expect(stale.status).toBe(403);
    expect(stale.error?.data['appCode']).toBe('STEP_UP_REQUIRED');
    const fresh = await call('payout', {
      method: 'POST',
      session: { sessionId: 's1', userId: 'u1', mfaVerifiedAt: Date.now(), role: 'member' },
    });
    expect(fresh.status).toBe(200);
  });
});
