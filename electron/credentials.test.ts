/**
 * The keychain store against a real Secret Service: gnome-keyring in its own
 * D-Bus session (dbus-run-session) with a fresh HOME, driven through keytar
 * by electron/credentials-child.ts in a child process. Then the ways the
 * keychain is unavailable, each with its reason and a message the user can
 * act on: no session bus, no Secret Service provider, a locked keyring, a
 * keytar that does not load. Plus how failures from macOS and Windows are
 * read, from their known messages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHILD_ORIGIN, CHILD_OTHER_USER, CHILD_PERSISTED_USER, CHILD_USER } from './credentials-child.ts';
import { classifyKeychainError, createKeychainStore, keychainService, type KeytarLike } from './credentials.ts';

const childScript = join(import.meta.dirname, 'credentials-child.ts');

const hasCommand = (command: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

const missing = ['dbus-run-session', 'gnome-keyring-daemon'].filter((command) => !hasCommand(command));
const secretServiceMissing =
  missing.length === 0
    ? undefined
    : `${missing.join(' and ')} not installed (Debian packages dbus, gnome-keyring, libsecret-tools)`;
if (secretServiceMissing !== undefined) {
  console.warn(`credentials.test.ts: skipping the real Secret Service tests: ${secretServiceMissing}`);
}

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

const tokens = {
  TOKEN_A: `mlr_${randomBytes(32).toString('base64url')}`,
  TOKEN_B: `mlr_${randomBytes(32).toString('base64url')}`,
  TOKEN_C: `mlr_${randomBytes(32).toString('base64url')}`,
};

/** The environment without any way to a session bus or a display. */
function envWithoutBus(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (['DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR'].includes(name)) continue;
    env[name] = value;
  }
  return { ...env, ...tokens };
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, unknown>;
}

/** `script` (sh) inside a private D-Bus session bus, which ends (and takes gnome-keyring with it) when the script does. */
const inSessionBus = (script: string, env: Record<string, string>) =>
  run(`exec dbus-run-session -- sh -c "$SESSION_SCRIPT"`, { ...env, SESSION_SCRIPT: script });

/** Runs `command` (sh) with NODE and CHILD set; parses the child's RESULT line. */
function run(command: string, env: Record<string, string>): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      env: { ...env, NODE: process.execPath, CHILD: childScript },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) {
        reject(new Error(`no RESULT line (exit ${String(code)})\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      resolve({ code, stdout, stderr, result: JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown> });
    });
  });
}

/** gnome-keyring with a "login" keyring unlocked by a password, in a private session bus. */
const UNLOCKED_KEYRING = `eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)"`;

/** Every file under `dir` (the keyring's HOME) that contains one of the tokens in plain text. */
function filesContainingTokens(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const file = join(path, name);
      const stat = statSync(file, { throwIfNoEntry: false });
      if (stat === undefined) continue;
      if (stat.isDirectory()) walk(file);
      else if (stat.isFile()) {
        const content = readFileSync(file, 'latin1');
        if (Object.values(tokens).some((t) => content.includes(t))) found.push(file);
      }
    }
  };
  walk(dir);
  return found;
}

describe('the keychain store on a real Secret Service (gnome-keyring)', () => {
  it.skipIf(secretServiceMissing !== undefined)(
    'stores, reads, replaces, lists and deletes; the secret is in the keyring and in no file or log',
    async () => {
      const home = temporaryDir('megilance-keyring-home-');
      const started = Date.now();
      const { code, result, stdout, stderr } = await inSessionBus(
        `export HOME="$KEYRING_HOME"; ${UNLOCKED_KEYRING}; "$NODE" "$CHILD" round-trip || exit $?; ` +
          `printf 'LOOKUP %s\\n' "$(secret-tool lookup service "$SERVICE" account "$PERSISTED" 2>/dev/null)"`,
        {
          ...envWithoutBus(),
          KEYRING_HOME: home,
          SERVICE: keychainService(CHILD_ORIGIN),
          PERSISTED: CHILD_PERSISTED_USER,
        },
      );
      console.log(`credentials.test.ts: gnome-keyring round trip in ${Date.now() - started} ms`);
      expect(code).toBe(0);
      expect(result).toEqual({
        check: { ok: null },
        readBefore: { ok: null },
        store: { ok: null },
        readAfterStore: { ok: tokens.TOKEN_A },
        replace: { ok: null },
        readAfterReplace: { ok: tokens.TOKEN_B },
        list: { ok: [CHILD_USER, CHILD_OTHER_USER].sort() },
        // One service per server: a server whose origin is a prefix of another's lists only its own.
        listOther: { ok: [CHILD_USER] },
        otherServerUntouched: { ok: tokens.TOKEN_C },
        delete: { ok: true },
        readAfterDelete: { ok: null },
        deleteAgain: { ok: false },
        listAfterDelete: { ok: [CHILD_OTHER_USER] },
        listEmpty: { ok: [] },
        invalidOrigin: {
          reason: 'thrown',
          name: 'Error',
          message: expect.stringMatching(/must be an http\(s\) origin/) as string,
        },
        invalidToken: { reason: 'thrown', name: 'Error', message: expect.stringMatching(/printable ASCII/) as string },
        persist: { ok: null },
      });
      // The same item, seen by another Secret Service client (libsecret's secret-tool) in that session.
      if (hasCommand('secret-tool')) expect(stdout).toContain(`LOOKUP ${tokens.TOKEN_C}`);
      // Not written anywhere in plain text (the keyring file is encrypted), not logged, not in an error.
      expect(filesContainingTokens(home)).toEqual([]);
      for (const token of Object.values(tokens)) {
        expect(stderr).not.toContain(token);
        expect(JSON.stringify(result.invalidToken)).not.toContain(token);
      }
    },
    60_000,
  );

  it.skipIf(secretServiceMissing !== undefined)(
    'a locked keyring: writes say "locked", listing does not crash, a delete is not mistaken for "nothing stored"',
    async () => {
      const home = temporaryDir('megilance-keyring-locked-');
      const env = { ...envWithoutBus(), KEYRING_HOME: home };
      const seeded = await inSessionBus(
        `export HOME="$KEYRING_HOME"; ${UNLOCKED_KEYRING}; exec "$NODE" "$CHILD" seed`,
        env,
      );
      expect(seeded.result).toEqual({ store: { ok: null } });
      // The same keyring in a new session, started without its password: locked, and no prompt can be shown.
      const { code, result } = await inSessionBus(
        `export HOME="$KEYRING_HOME"; eval "$(gnome-keyring-daemon --start --components=secrets)"; exec "$NODE" "$CHILD" unavailable`,
        env,
      );
      expect(code).toBe(0);
      const locked = {
        reason: 'locked',
        name: 'KeychainUnavailableError',
        message: expect.stringMatching(/is locked/) as string,
      };
      expect(result).toEqual({
        check: locked,
        store: locked,
        // keytar answers a locked collection as "nothing stored"; credentials-sign-in.ts follows a null with check().
        read: { ok: null },
        list: locked,
        delete: locked,
      });
      expect((result.store as { message: string }).message).toMatch(/Unlock it .*"Sign in each time"/);
    },
    60_000,
  );

  it.skipIf(secretServiceMissing !== undefined)(
    'a session bus with no Secret Service provider: "no-secret-service", naming GNOME Keyring and KWallet',
    async () => {
      const dir = temporaryDir('megilance-bus-');
      // A session bus that can start no services (no <servicedir>), so nothing provides org.freedesktop.secrets.
      const config = join(dir, 'session.conf');
      writeFileSync(
        config,
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=${dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
`,
      );
      const { code, result } = await run(`dbus-run-session --config-file="$CONFIG" -- "$NODE" "$CHILD" unavailable`, {
        ...envWithoutBus(),
        CONFIG: config,
      });
      expect(code).toBe(0);
      const noService = {
        reason: 'no-secret-service',
        name: 'KeychainUnavailableError',
        message: expect.stringMatching(
          /no keyring service is running.*GNOME Keyring.*KWallet.*"Sign in each time"/,
        ) as string,
      };
      expect(result).toMatchObject({ check: noService, store: noService, read: noService, list: noService });
    },
    60_000,
  );
});

describe('the keychain store without a session bus', () => {
  it('says there is no D-Bus session and what to do, and offers "Sign in each time"', async () => {
    const { code, result, stderr } = await run(`exec "$NODE" "$CHILD" unavailable`, envWithoutBus());
    expect(code).toBe(0);
    const noBus = {
      reason: 'no-session-bus',
      name: 'KeychainUnavailableError',
      message: expect.stringMatching(
        /^MegiLance cannot keep you signed in: there is no desktop session bus \(D-Bus\).*Start MegiLance from your desktop session.*"Sign in each time"/,
      ) as string,
    };
    expect(result).toEqual({ check: noBus, store: noBus, read: noBus, list: noBus, delete: noBus });
    // The log names what failed and keytar's words, never a token.
    expect(stderr).toMatch(
      /keychain: write MegiLance \(http:\/\/127\.0\.0\.1:41234\)\/[\w-]+ failed \(no-session-bus\): Cannot autolaunch D-Bus/,
    );
    for (const token of Object.values(tokens)) expect(stderr).not.toContain(token);
  }, 30_000);
});

describe('the keychain store when keytar does not load', () => {
  it('answers "module-unavailable" with the loader\'s reason, and never retries into a crash', async () => {
    const lines: string[] = [];
    let loads = 0;
    const store = createKeychainStore({
      platform: 'linux',
      loadKeytar: () => {
        loads += 1;
        throw new Error('libsecret-1.so.0: cannot open shared object file: No such file or directory');
      },
      log: (line) => lines.push(line),
    });
    for (const operation of [() => store.check(), () => store.read(CHILD_ORIGIN, CHILD_USER)]) {
      await expect(operation()).rejects.toMatchObject({
        name: 'KeychainUnavailableError',
        reason: 'module-unavailable',
        message: expect.stringMatching(
          /keychain component could not be loaded \(libsecret-1\.so\.0.*libsecret-1-0/,
        ) as string,
      });
    }
    expect(loads).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^keychain: keytar did not load: libsecret/) as string]);
  });

  it('the real loader, on a keytar that is there, loads it only when first used', async () => {
    const calls: string[] = [];
    const recording: KeytarLike = {
      getPassword: (service, account) => (calls.push(`get ${service}/${account}`), Promise.resolve(null)),
      setPassword: () => Promise.reject(new Error('not used')),
      deletePassword: () => Promise.reject(new Error('not used')),
      findCredentials: () => Promise.reject(new Error('not used')),
    };
    let loaded = false;
    const store = createKeychainStore({ platform: 'linux', loadKeytar: () => ((loaded = true), recording) });
    expect(loaded).toBe(false);
    await expect(store.read(CHILD_ORIGIN, CHILD_USER)).resolves.toBeNull();
    expect(loaded).toBe(true);
    expect(calls).toEqual([`get MegiLance (${CHILD_ORIGIN})/${CHILD_USER}`]);
  });
});

describe('classifyKeychainError', () => {
  it.each([
    ['linux', 'Cannot autolaunch D-Bus without X11 $DISPLAY', 'no-session-bus'],
    ['linux', 'Could not connect: No such file or directory', 'no-session-bus'],
    ['linux', 'The name org.freedesktop.secrets was not provided by any .service files', 'no-secret-service'],
    ['linux', 'Object does not exist at path “/org/freedesktop/secrets/collection/login”', 'no-keyring'],
    ['linux', 'Cannot create an item in a locked collection', 'locked'],
    ['linux', 'Prompt dismissed', 'denied'],
    ['darwin', 'A default keychain could not be found.', 'no-keyring'],
    ['darwin', 'User interaction is not allowed.', 'locked'],
    ['darwin', 'User canceled the operation.', 'denied'],
    ['darwin', 'The user name or passphrase you entered is not correct.', 'denied'],
    ['win32', 'A specified logon session does not exist. It may already have been terminated.', 'no-logon-session'],
    ['win32', 'Access is denied.', 'denied'],
    ['win32', 'Something nobody has seen before', 'error'],
  ])('%s: "%s" → %s', (platform, raw, reason) => {
    const error = classifyKeychainError(new Error(raw), platform);
    expect(error.reason).toBe(reason);
    expect(error.detail).toBe(raw);
    expect(error.message).toMatch(/^MegiLance cannot keep you signed in: .*"Sign in each time"/);
    const keychain = { linux: /keyring|D-Bus|Secret Service/, darwin: /keychain|Keychain/, win32: /Windows/ }[platform];
    expect(error.message).toMatch(keychain ?? /./);
  });
});
