/**
 * Run by credentials.test.ts in a child process, inside whatever D-Bus
 * session (or none) the test set up: drives the real keychain store through
 * keytar and prints one `RESULT {json}` line for the test to assert.
 * A child because the Secret Service is reached through the process's
 * environment (DBUS_SESSION_BUS_ADDRESS), and because a keychain bug must
 * crash this process, not the test runner.
 *
 *   node electron/credentials-child.ts round-trip   store, read, replace, list, delete; leaves TOKEN_C for secret-tool
 *   node electron/credentials-child.ts seed         stores TOKEN_A (for a later locked run on the same keyring)
 *   node electron/credentials-child.ts unavailable  every operation, reporting how each one failed
 *
 * Tokens come from the environment (TOKEN_A, TOKEN_B, TOKEN_C), so the test
 * can look for them in files and logs afterwards.
 */
import { createKeychainStore, KeychainUnavailableError } from './credentials.ts';

export const CHILD_ORIGIN = 'http://127.0.0.1:41234';
export const CHILD_OTHER_ORIGIN = 'http://127.0.0.1:4123';
export const CHILD_USER = '0b7c4a52-5d1e-4a4e-9d3c-2f6f5f6b7a11';
export const CHILD_OTHER_USER = 'c6d3e0f1-8a2b-4c5d-9e7f-1a2b3c4d5e6f';
export const CHILD_PERSISTED_USER = 'persisted-user';

type Outcome = { ok: unknown } | { reason: string; message: string; name: string };

async function outcome(operation: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: (await operation()) ?? null };
  } catch (error) {
    if (error instanceof KeychainUnavailableError) {
      return { reason: error.reason, message: error.message, name: error.name };
    }
    return { reason: 'thrown', message: error instanceof Error ? error.message : String(error), name: 'Error' };
  }
}

function token(name: 'TOKEN_A' | 'TOKEN_B' | 'TOKEN_C'): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

async function main(scenario: string | undefined): Promise<Record<string, unknown>> {
  const store = createKeychainStore({ platform: process.platform });
  switch (scenario) {
    case 'round-trip': {
      const steps: Record<string, unknown> = {};
      steps['check'] = await outcome(() => store.check());
      steps['readBefore'] = await outcome(() => store.read(CHILD_ORIGIN, CHILD_USER));
      steps['store'] = await outcome(() => store.write(CHILD_ORIGIN, CHILD_USER, token('TOKEN_A')));
      steps['readAfterStore'] = await outcome(() => store.read(CHILD_ORIGIN, CHILD_USER));
      steps['replace'] = await outcome(() => store.write(CHILD_ORIGIN, CHILD_USER, token('TOKEN_B')));
      steps['readAfterReplace'] = await outcome(() => store.read(CHILD_ORIGIN, CHILD_USER));
      // A second account on the same server, and one on a server whose origin is a prefix of this one's.
      await store.write(CHILD_ORIGIN, CHILD_OTHER_USER, token('TOKEN_C'));
      await store.write(CHILD_OTHER_ORIGIN, CHILD_USER, token('TOKEN_C'));
      steps['list'] = await outcome(() => store.listAccounts(CHILD_ORIGIN));
      steps['listOther'] = await outcome(() => store.listAccounts(CHILD_OTHER_ORIGIN));
      steps['otherServerUntouched'] = await outcome(() => store.read(CHILD_OTHER_ORIGIN, CHILD_USER));
      steps['delete'] = await outcome(() => store.remove(CHILD_ORIGIN, CHILD_USER));
      steps['readAfterDelete'] = await outcome(() => store.read(CHILD_ORIGIN, CHILD_USER));
      steps['deleteAgain'] = await outcome(() => store.remove(CHILD_ORIGIN, CHILD_USER));
      steps['listAfterDelete'] = await outcome(() => store.listAccounts(CHILD_ORIGIN));
      await store.remove(CHILD_ORIGIN, CHILD_OTHER_USER);
      await store.remove(CHILD_OTHER_ORIGIN, CHILD_USER);
      steps['listEmpty'] = await outcome(() => store.listAccounts(CHILD_ORIGIN));
      steps['invalidOrigin'] = await outcome(() => store.write('https://x.example/path', CHILD_USER, token('TOKEN_A')));
      steps['invalidToken'] = await outcome(() => store.write(CHILD_ORIGIN, CHILD_USER, `${token('TOKEN_A')} x`));
      // Left in the keyring for the test's secret-tool lookup.
      steps['persist'] = await outcome(() => store.write(CHILD_ORIGIN, CHILD_PERSISTED_USER, token('TOKEN_C')));
      return steps;
    }
    case 'seed':
      return { store: await outcome(() => store.write(CHILD_ORIGIN, CHILD_USER, token('TOKEN_A'))) };
    case 'unavailable':
      return {
        check: await outcome(() => store.check()),
        store: await outcome(() => store.write(CHILD_ORIGIN, CHILD_USER, token('TOKEN_B'))),
        read: await outcome(() => store.read(CHILD_ORIGIN, CHILD_USER)),
        list: await outcome(() => store.listAccounts(CHILD_ORIGIN)),
        delete: await outcome(() => store.remove(CHILD_ORIGIN, CHILD_USER)),
      };
    default:
      throw new Error(`unknown scenario ${String(scenario)}`);
  }
}

if (import.meta.main) {
  const result = await main(process.argv[2]);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
