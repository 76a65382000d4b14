import { createTRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { describe, expect, it, vi } from 'vitest';
import { errorCatalogue } from '../../../shared/errors.ts';
import type { AppRouter } from '../../../server/router.ts';
import { sessionLink, shouldRefreshAndRetry, type SessionForLink } from './sessionLink.ts';

const unauthenticated = () =>
  TRPCClientError.from({
    error: {
      message: errorCatalogue.UNAUTHENTICATED.message,
      code: -32001,
      data: { appCode: 'UNAUTHENTICATED', fieldErrors: null, details: null, httpStatus: 401 },
    },
  });

/** A stand-in server: answers each call with the next scripted outcome and records the token it carried. */
function scriptedServer(session: SessionForLink, outcomes: ('ok' | 'unauthenticated')[]) {
  const seen: { path: string; token: string | null }[] = [];
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        seen.push({ path: op.path, token: session.accessToken() });
        if (outcomes.shift() === 'unauthenticated') observer.error(unauthenticated());
        else {
          observer.next({ result: { type: 'data', data: { ok: true } } });
          observer.complete();
        }
      });
  return { link, seen };
}

function fakeSession(tokens: (string | null)[], recoverResult: boolean) {
  let current = tokens.shift() ?? null;
  const session = {
    accessToken: () => current,
    recover: vi.fn((_sent: string | null) => {
      current = tokens.shift() ?? current;
      return Promise.resolve(recoverResult);
    }),
  };
  return session;
}

function clientFor(session: SessionForLink, outcomes: ('ok' | 'unauthenticated')[]) {
  const server = scriptedServer(session, outcomes);
  const client = createTRPCClient<AppRouter>({ links: [sessionLink(session), server.link] });
  return { client, seen: server.seen };
}

describe('sessionLink', () => {
  it('refreshes an expired access token and retries the call once, with the new token', async () => {
    const session = fakeSession(['mla_old', 'mla_new'], true);
    const { client, seen } = clientFor(session, ['unauthenticated', 'ok']);
    await expect(client.auth.me.query()).resolves.toEqual({ ok: true });
    expect(session.recover).toHaveBeenCalledWith('mla_old');
    expect(seen).toEqual([
      { path: 'auth.me', token: 'mla_old' },
      { path: 'auth.me', token: 'mla_new' },
    ]);
  });

  it('passes the refusal on when the session cannot be recovered (it was signed out elsewhere)', async () => {
    const session = fakeSession(['mla_old'], false);
    const { client, seen } = clientFor(session, ['unauthenticated']);
    await expect(client.security.sessions.query()).rejects.toMatchObject({ data: { appCode: 'UNAUTHENTICATED' } });
    expect(seen).toHaveLength(1);
  });

  it('retries only once', async () => {
    const session = fakeSession(['mla_1', 'mla_2', 'mla_3'], true);
    const { client, seen } = clientFor(session, ['unauthenticated', 'unauthenticated', 'ok']);
    await expect(client.auth.me.query()).rejects.toBeInstanceOf(TRPCClientError);
    expect(seen).toHaveLength(2);
    expect(session.recover).toHaveBeenCalledTimes(1);
  });

  it('leaves alone calls whose refusal a refresh cannot fix (a wrong password)', async () => {
    const session = fakeSession(['mla_1'], true);
    const { client } = clientFor(session, ['unauthenticated']);
    await expect(client.auth.signIn.mutate({ email: 'a@example.com', password: 'x' })).rejects.toBeInstanceOf(
      TRPCClientError,
    );
    expect(session.recover).not.toHaveBeenCalled();
  });
});

describe('shouldRefreshAndRetry', () => {
  it('needs a token sent, a session-bound procedure and an UNAUTHENTICATED answer', () => {
    expect(shouldRefreshAndRetry('security.sessions', unauthenticated(), 'mla_1')).toBe(true);
    expect(shouldRefreshAndRetry('security.sessions', unauthenticated(), null)).toBe(false);
    expect(shouldRefreshAndRetry('auth.refresh', unauthenticated(), 'mla_1')).toBe(false);
    expect(shouldRefreshAndRetry('auth.completeSignIn', unauthenticated(), 'mla_1')).toBe(false);
    expect(shouldRefreshAndRetry('security.sessions', new TypeError('Failed to fetch'), 'mla_1')).toBe(false);
  });
});
