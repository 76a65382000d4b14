import { TRPCClientError } from '@trpc/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { errorCatalogue, type AppErrorCode } from '../../../shared/errors.ts';
import type { AccessGrant } from './grant.ts';
import {
  AuthSession,
  classifyRefreshFailure,
  type AuthChannel,
  type AuthMessage,
  type SessionHint,
} from './session.ts';

const MINUTE = 60_000;

function grant(n: number, ttlMs = 15 * MINUTE, sessionId = 'session-1'): AccessGrant {
  return { accessToken: `mla_${n}`, accessExpiresAt: new Date(Date.now() + ttlMs), sessionId };
}

function serverError(appCode: AppErrorCode, message: string = errorCatalogue[appCode].message) {
  return TRPCClientError.from({
    error: {
      message,
      code: -32001,
      data: { appCode, fieldErrors: null, details: null, httpStatus: errorCatalogue[appCode].http },
    },
  });
}

const networkError = () => TRPCClientError.from(new TypeError('Failed to fetch'));

function memoryHint(present: boolean): SessionHint & { present: boolean } {
  const hint = {
    present,
    read: () => hint.present,
    write: (value: boolean) => {
      hint.present = value;
    },
  };
  return hint;
}

/** Two or more windows of the app: what one posts, the others hear. */
function channelPair(): [AuthChannel, AuthChannel] {
  const listeners = [new Set<(m: AuthMessage) => void>(), new Set<(m: AuthMessage) => void>()];
  const side = (me: 0 | 1): AuthChannel => ({
    post: (message) => listeners[1 - me]!.forEach((listener) => listener(structuredClone(message))),
    listen: (handler) => {
      listeners[me]!.add(handler);
      return () => listeners[me]!.delete(handler);
    },
  });
  return [side(0), side(1)];
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-03-01T09:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('AuthSession start-up', () => {
  it('restores the session from the refresh cookie when this browser may have one', async () => {
    const refresh = vi.fn().mockResolvedValue(grant(1));
    const session = new AuthSession({ refresh, hint: memoryHint(true) });
    session.start();
    expect(session.getState()).toEqual({ status: 'restoring' });
    await session.settled();
    expect(session.getState().status).toBe('signed_in');
    expect(session.accessToken()).toBe('mla_1');
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('asks nothing of the server for a visitor who never signed in here', () => {
    const refresh = vi.fn();
    const session = new AuthSession({ refresh, hint: memoryHint(false) });
    session.start();
    expect(session.getState()).toEqual({ status: 'signed_out', reason: null });
    expect(refresh).not.toHaveBeenCalled();
  });

  it("is signed out, with the server's reason, when the cookie's session is over", async () => {
    const hint = memoryHint(true);
    const refresh = vi
      .fn()
      .mockRejectedValue(serverError('UNAUTHENTICATED', 'Your session has expired. Please sign in again.'));
    const session = new AuthSession({ refresh, hint });
    session.start();
    await vi.waitFor(() => expect(session.getState().status).toBe('signed_out'));
    expect(session.getState()).toEqual({
      status: 'signed_out',
      reason: { kind: 'ended', message: 'Your session has expired. Please sign in again.' },
    });
    expect(hint.present).toBe(false);
  });

  it('keeps trying, without signing out, while the server cannot be reached', async () => {
    const refresh = vi.fn().mockRejectedValueOnce(networkError()).mockResolvedValueOnce(grant(1));
    const hint = memoryHint(true);
    const session = new AuthSession({ refresh, hint });
    session.start();
    await vi.waitFor(() => expect(session.getState().status).toBe('unreachable'));
    expect(hint.present).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(session.getState().status).toBe('signed_in');
  });
});

describe('AuthSession refresh', () => {
  it('refreshes a minute before the access token expires, and again after that', async () => {
    const refresh = vi.fn().mockImplementation(() => Promise.resolve(grant(refresh.mock.calls.length + 1)));
    const session = new AuthSession({ refresh, hint: memoryHint(false) });
    session.start();
    session.signedIn(grant(1));
    await vi.advanceTimersByTimeAsync(14 * MINUTE - 1);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(session.accessToken()).toBe('mla_2');
    await vi.advanceTimersByTimeAsync(14 * MINUTE);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(session.accessToken()).toBe('mla_3');
  });

  it('sends one refresh however many calls need it at once (a second use of the token would revoke the session)', async () => {
    let resolve: (value: AccessGrant) => void = () => undefined;
    const refresh = vi.fn().mockReturnValue(new Promise<AccessGrant>((r) => (resolve = r)));
    const session = new AuthSession({ refresh, hint: memoryHint(false) });
    session.signedIn(grant(1));
    const answers = Promise.all([session.recover('mla_1'), session.recover('mla_1'), session.refresh()]);
    resolve(grant(2));
    expect(await answers).toEqual([true, true, true]);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('retries a refused call without refreshing when the token has already moved on', async () => {
    const refresh = vi.fn();
    const session = new AuthSession({ refresh, hint: memoryHint(false) });
    session.signedIn(grant(2));
    expect(await session.recover('mla_1')).toBe(true);
    expect(await session.recover(null)).toBe(false);
    expect(refresh).not.toHaveBeenCalled();
  });

  it('signs out when the server refuses the refresh (signed out from another device)', async () => {
    const refresh = vi
      .fn()
      .mockRejectedValue(serverError('UNAUTHENTICATED', 'You have been signed out. Please sign in again.'));
    const session = new AuthSession({ refresh, hint: memoryHint(false) });
    session.signedIn(grant(1));
    expect(await session.recover('mla_1')).toBe(false);
    expect(session.getState()).toEqual({
      status: 'signed_out',
      reason: { kind: 'ended', message: 'You have been signed out. Please sign in again.' },
    });
    // Nothing is scheduled for a session that is over.
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('stays signed in through a network failure and tries again shortly', async () => {
    const refresh = vi.fn().mockRejectedValueOnce(networkError()).mockResolvedValueOnce(grant(2));
    const session = new AuthSession({ refresh, hint: memoryHint(false) });
    session.signedIn(grant(1));
    expect(await session.refresh()).toBe(false);
    expect(session.accessToken()).toBe('mla_1');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(session.accessToken()).toBe('mla_2');
  });

  it('ignores a refresh answer that arrives after the user signed out', async () => {
    let resolve: (value: AccessGrant) => void = () => undefined;
    const refresh = vi.fn().mockReturnValue(new Promise<AccessGrant>((r) => (resolve = r)));
    const session = new AuthSession({ refresh, hint: memoryHint(false) });
    session.signedIn(grant(1));
    const pending = session.refresh();
    session.signedOut({ kind: 'signed_out' });
    resolve(grant(2));
    await pending;
    expect(session.getState()).toEqual({ status: 'signed_out', reason: { kind: 'signed_out' } });
  });
});

describe('AuthSession across windows', () => {
  it('shares a refreshed grant, so the other window does not refresh (and revoke) again', async () => {
    const [left, right] = channelPair();
    const refresh = vi.fn().mockResolvedValue(grant(2));
    const a = new AuthSession({ refresh, hint: memoryHint(true), channel: left });
    const b = new AuthSession({ refresh: vi.fn(), hint: memoryHint(false), channel: right });
    a.start();
    b.start();
    await vi.waitFor(() => expect(b.getState().status).toBe('signed_in'));
    expect(b.accessToken()).toBe('mla_2');
    expect(b.getState()).toEqual(a.getState());
  });

  it('signs the other windows out too', () => {
    const [left, right] = channelPair();
    const a = new AuthSession({ refresh: vi.fn(), hint: memoryHint(false), channel: left });
    const b = new AuthSession({ refresh: vi.fn(), hint: memoryHint(false), channel: right });
    a.start();
    b.start();
    a.signedIn(grant(1));
    expect(b.accessToken()).toBe('mla_1');
    a.signedOut({ kind: 'signed_out' });
    expect(b.getState()).toEqual({ status: 'signed_out', reason: { kind: 'other_window' } });
  });

  it('skips its own refresh when another window refreshed while it waited for the lock', async () => {
    const refresh = vi.fn().mockResolvedValue(grant(9));
    const session = new AuthSession({
      refresh,
      hint: memoryHint(false),
      // The lock is released only after the other window's grant has arrived.
      exclusive: async (task) => {
        session.signedIn(grant(2));
        return task();
      },
    });
    session.signedIn(grant(1));
    expect(await session.refresh()).toBe(true);
    expect(refresh).not.toHaveBeenCalled();
    expect(session.accessToken()).toBe('mla_2');
  });
});

describe('classifyRefreshFailure', () => {
  it("ends the session on the server's refusal, keeping only a specific explanation", () => {
    expect(classifyRefreshFailure(serverError('UNAUTHENTICATED'))).toEqual({ kind: 'ended', message: null });
    expect(classifyRefreshFailure(serverError('UNAUTHENTICATED', 'Your session has expired.'))).toEqual({
      kind: 'ended',
      message: 'Your session has expired.',
    });
  });

  it('treats an unreachable, draining or failing server as passing', () => {
    expect(classifyRefreshFailure(networkError())).toEqual({ kind: 'transient' });
    expect(classifyRefreshFailure(serverError('SERVICE_UNAVAILABLE'))).toEqual({ kind: 'transient' });
    expect(classifyRefreshFailure(serverError('INTERNAL'))).toEqual({ kind: 'transient' });
  });
});
