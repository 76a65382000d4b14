/**
 * For the credentials tests only (never imported by the app): an in-memory
 * stand-in for the OS keychain, whose availability the test switches, and
 * a verified account on a real test server with its desktop tokens. The
 * real keychain is proven against gnome-keyring in credentials.test.ts.
 */
import type { IssuedTokens } from '../shared/accounts.ts';
import { apiClient, mailedCode, mailTo } from '../tests/support/api.ts';
import { startTestServer, type TestServer } from '../tests/support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../tests/support/smtp.ts';
import { KeychainUnavailableError, keychainMessage, keychainService, type CredentialStore } from './credentials.ts';
import type { KeychainUnavailableReason } from '../shared/desktop-api.ts';

/** The OS keychain as a Map of `service/account` → token; `unavailable` makes every call fail like keytar would. */
export class FakeKeychain implements CredentialStore {
  readonly items = new Map<string, string>();
  unavailable: KeychainUnavailableReason | null = null;
  /** keytar on a locked Secret Service collection: reads answer null instead of failing (the store passes that on). */
  readsNullWhenUnavailable = false;
  /** Every call, by operation name (no secrets). */
  readonly calls: string[] = [];

  private guard(operation: string): void {
    this.calls.push(operation);
    if (this.unavailable !== null) {
      throw new KeychainUnavailableError(
        this.unavailable,
        keychainMessage(this.unavailable, 'linux', 'fake'),
        'fake keychain switched off',
      );
    }
  }

  read(origin: string, accountId: string): Promise<string | null> {
    if (this.unavailable !== null && this.readsNullWhenUnavailable) {
      this.calls.push('read');
      return Promise.resolve(null);
    }
    this.guard('read');
    return Promise.resolve(this.items.get(`${keychainService(origin)}/${accountId}`) ?? null);
  }
  write(origin: string, accountId: string, refreshToken: string): Promise<void> {
    this.guard('write');
    this.items.set(`${keychainService(origin)}/${accountId}`, refreshToken);
    return Promise.resolve();
  }
  remove(origin: string, accountId: string): Promise<boolean> {
    this.guard('remove');
    return Promise.resolve(this.items.delete(`${keychainService(origin)}/${accountId}`));
  }
  listAccounts(origin: string): Promise<string[]> {
    this.guard('listAccounts');
    const prefix = `${keychainService(origin)}/`;
    return Promise.resolve(
      [...this.items.keys()]
        .filter((key) => key.startsWith(prefix))
        .map((key) => key.slice(prefix.length))
        .sort(),
    );
  }
  check(): Promise<void> {
    this.guard('check');
    return Promise.resolve();
  }
  /** The token stored for a server and account, or undefined. */
  stored(origin: string, accountId: string): string | undefined {
    return this.items.get(`${keychainService(origin)}/${accountId}`);
  }
}

export interface AccountServer {
  server: TestServer;
  smtp: TestSmtpServer;
  /** A new verified account, signed in as the desktop app is (the refresh token in the answer). */
  signedUp(): Promise<{ userId: string; email: string; tokens: IssuedTokens & { refreshToken: string } }>;
  dispose(): Promise<void>;
}

export async function startAccountServer(): Promise<AccountServer> {
  const smtp = await startTestSmtpServer();
  const server = await startTestServer(mailTo(smtp));
  let counter = 0;
  return {
    server,
    smtp,
    async signedUp() {
      const email = `desktop${++counter}-${Date.now()}@example.com`;
      const client = apiClient(server.url);
      await client.auth.signUp.mutate({ email, password: 'correct horse battery staple', displayName: 'Desk Top' });
      const code = await mailedCode(smtp, email, /Confirm your email/);
      const tokens = await client.auth.verifyEmail.mutate({ email, code });
      if (tokens.refreshToken === null) throw new Error('the desktop client got no refresh token');
      const me = await apiClient(server.url, { accessToken: tokens.accessToken }).auth.me.query();
      return { userId: me.id, email, tokens: { ...tokens, refreshToken: tokens.refreshToken } };
    },
    async dispose() {
      await server.dispose();
      await smtp.close();
    },
  };
}
