import { describe, expect, it } from 'vitest';
import type { CredentialsRefreshResult } from '../../../shared/desktop-api.ts';
import { desktopRefresh, desktopSessionDeps } from './desktopSession.ts';
import { AuthSession } from './session.ts';

const grant = {
  status: 'signed-in' as const,
  accessToken: 'mla_x',
  accessExpiresAt: new Date(Date.now() + 15 * 60_000),
  sessionId: 's1',
  user: { id: 'u1', email: 'ada@example.com', displayName: 'Ada', emailVerified: true },
  held: 'keychain' as const,
};

const refreshing = (result: CredentialsRefreshResult) => ({ refresh: () => Promise.resolve(result) });

function settledState(result: CredentialsRefreshResult) {
  const session = new AuthSession(
    desktopSessionDeps(
      {
        ...refreshing(result),
        save: () => Promise.reject(new Error('not used')),
        forget: () => Promise.resolve({ forgotten: true as const }),
      },
      () => Promise.resolve({ id: 'u1' }),
    ),
  );
  session.start();
  return session.settled().then(() => {
    const state = session.getState();
    session.stop();
    return state;
  });
}

describe('the desktop session', () => {
  it('restores a sign-in from the keychain at launch', async () => {
    expect(await desktopRefresh(refreshing(grant))).toEqual({
      accessToken: 'mla_x',
      accessExpiresAt: grant.accessExpiresAt,
      sessionId: 's1',
    });
    expect(await settledState(grant)).toMatchObject({ status: 'signed_in', grant: { sessionId: 's1' } });
  });

  it('shows the sign-in screen quietly when nothing is saved, and says why when the sign-in ended', async () => {
    expect(
      await settledState({ status: 'signed-out', reason: 'no-saved-sign-in', message: 'Sign in to continue.' }),
    ).toEqual({ status: 'signed_out', reason: null });
    expect(
      await settledState({ status: 'signed-out', reason: 'sign-in-ended', message: 'Your sign-in ended.' }),
    ).toEqual({ status: 'signed_out', reason: { kind: 'ended', message: 'Your sign-in ended.' } });
    expect(
      await settledState({ status: 'keychain-unavailable', reason: 'locked', message: 'Unlock your keyring.' }),
    ).toEqual({ status: 'signed_out', reason: { kind: 'ended', message: 'Unlock your keyring.' } });
  });

  it('keeps trying while the server cannot be reached', async () => {
    expect(await settledState({ status: 'server-unavailable', message: 'The server did not answer.' })).toMatchObject({
      status: 'unreachable',
    });
  });

  it('hands the refresh token to main once after a sign-in, and forgets it at sign-out', async () => {
    const saved: unknown[] = [];
    let forgotten = 0;
    const session = new AuthSession(
      desktopSessionDeps(
        {
          refresh: () => Promise.resolve({ status: 'signed-out', reason: 'no-saved-sign-in', message: '' }),
          save: (input) => {
            saved.push(input);
            return Promise.resolve({ saved: 'keychain' as const });
          },
          forget: () => {
            forgotten += 1;
            return Promise.resolve({ forgotten: true as const });
          },
        },
        () => Promise.resolve({ id: 'u1' }),
      ),
    );
    session.signedInWith({
      accessToken: 'mla_a',
      accessExpiresAt: grant.accessExpiresAt,
      sessionId: 's2',
      refreshToken: 'mlr_r',
    });
    await expect.poll(() => saved).toEqual([{ accountId: 'u1', refreshToken: 'mlr_r' }]);
    // The grant the renderer keeps has no refresh token.
    expect(JSON.stringify(session.getState())).not.toContain('mlr_r');
    session.signedOut({ kind: 'signed_out' });
    await expect.poll(() => forgotten).toBe(1);
    session.stop();
  });
});
