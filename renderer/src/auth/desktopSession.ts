/**
 * The desktop app's side of AuthSession: the refresh token lives in the OS
 * keychain, held by the main process (electron/credentials*.ts). The renderer
 * hands it over once after a sign-in and never sees it again; main refreshes
 * with the server itself and answers only the access grant.
 */
import type { IssuedTokens } from '../../../shared/accounts.ts';
import type { MegilanceDesktopApi } from '../../../shared/desktop-api.ts';
import type { AppErrorCode } from '../../../shared/errors.ts';
import type { AccessGrant } from './grant.ts';
import { NoStoredSession, type AuthSessionDeps, type SessionHint } from './session.ts';

type Credentials = MegilanceDesktopApi['credentials'];

/** Main's answer as an error shaped like the server's (`data.appCode`), so AuthSession classifies it the same way. */
export class DesktopCredentialsError extends Error {
  readonly data: { appCode: AppErrorCode };

  constructor(appCode: AppErrorCode, message: string) {
    super(message);
    this.name = 'DesktopCredentialsError';
    this.data = { appCode };
  }
}

/** What AuthSession's refresh answers for each of main's outcomes (errors carry the reason to show). */
export async function desktopRefresh(credentials: Pick<Credentials, 'refresh'>): Promise<AccessGrant> {
  const result = await credentials.refresh();
  switch (result.status) {
    case 'signed-in':
      return { accessToken: result.accessToken, accessExpiresAt: result.accessExpiresAt, sessionId: result.sessionId };
    case 'signed-out':
      if (result.reason === 'no-saved-sign-in') throw new NoStoredSession();
      throw new DesktopCredentialsError('UNAUTHENTICATED', result.message);
    case 'keychain-unavailable':
      // The sign-in may still be stored, but cannot be read: the user signs in (and may choose "sign in each time").
      throw new DesktopCredentialsError('UNAUTHENTICATED', result.message);
    case 'server-unavailable':
      // Transient: AuthSession keeps what it has and tries again.
      throw new DesktopCredentialsError('SERVICE_UNAVAILABLE', result.message);
  }
}

/**
 * The AuthSession parts for the desktop app. `whoAmI` asks the server for
 * the signed-in user (the keychain files tokens per account).
 */
export function desktopSessionDeps(
  credentials: Pick<Credentials, 'refresh' | 'save' | 'forget'>,
  whoAmI: () => Promise<{ id: string }>,
): Pick<AuthSessionDeps, 'refresh' | 'keep' | 'forget' | 'hint'> {
  return {
    refresh: () => desktopRefresh(credentials),
    async keep(tokens: IssuedTokens) {
      if (tokens.refreshToken === null) return;
      const me = await whoAmI();
      const saved = await credentials.save({ accountId: me.id, refreshToken: tokens.refreshToken });
      if (saved.saved === 'memory' && saved.because === 'keychain-unavailable') {
        console.warn(`Signed in for this run only: ${saved.message}`);
      }
    },
    async forget() {
      const result = await credentials.forget();
      if (!result.forgotten) console.warn(`The saved sign-in could not be removed: ${result.message}`);
    },
    // Main knows whether a sign-in is stored: always ask it.
    hint: desktopHint,
  };
}

export const desktopHint: SessionHint = { read: () => true, write: () => undefined };
