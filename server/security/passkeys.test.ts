/**
 * The passkey rules against a real database, with a software authenticator
 * (tests/support/webauthn.ts) whose counters and flags each test chooses:
 * challenges are single-use, expire, and belong to one purpose and one user;
 * the signature counter must go up; passwordless sign-in needs user
 * verification and the owner's user handle. The browser ceremonies are in
 * tests/e2e/passkeys.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.ts';
import type { PasskeyKind } from '../../shared/passkeys.ts';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import {
  createSoftCredential,
  softAssertion,
  softRegistration,
  type SoftCredential,
} from '../../tests/support/webauthn.ts';
import type { Session } from '../context.ts';
import { listSecurityEvents } from './events.ts';
import {
  PASSKEY_CHALLENGE_TTL_MS,
  registerPasskey,
  listPasskeys,
  registrationOptions,
  removeAllPasskeys,
  removePasskey,
  renamePasskey,
  secondFactorOptions,
  signCountVerdict,
  signInOptions,
  signInWithPasskey,
  signInSecondStepOptions,
  completeSignInWithPasskey,
  stepUpOptions,
  stepUpWithPasskey,
  verifyPasskeyAssertion,
  type PasskeyDeps,
  type PasskeyTables,
} from './passkeys.ts';
import { newId } from './secrets.ts';
import { signIn as signInWithPassword, type SignInRequest } from './sign-in.ts';

const ORIGIN = 'http://localhost:4173';
const RP_ID = 'localhost';
const actor = { ip: '127.0.0.1', deviceLabel: 'unit test', sessionId: null };
const request: SignInRequest = {
  ip: '127.0.0.1',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36',
  kind: 'desktop',
  reported: {},
};

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.dispose();
});

function depsAt(now?: number): PasskeyDeps {
  const { db, config, passwordHasher, mailer, sms, secretBox, logger, riskLists, locate } = server.deps;
  return {
    db,
    secretBox,
    config: config.security,
    hasher: passwordHasher,
    mailer,
    sms,
    logger,
    riskLists,
    locate,
    origin: ORIGIN,
    ...(now === undefined ? {} : { now: () => now }),
  };
}

const PASSWORD = 'correct horse battery staple';

async function newUser(options: { password?: boolean | string } = {}): Promise<string> {
  const id = newId();
  const now = Date.now();
  await server.deps.db
    .insertInto('users')
    .values({
      id,
      email: `${id}@example.com`,
      email_normalized: `${id}@example.com`,
      display_name: 'Passkey Tester',
      created_at: now,
      updated_at: now,
      password_hash:
        options.password === false
          ? null
          : typeof options.password === 'string'
            ? await server.deps.passwordHasher.hash(options.password)
            : 'not-a-real-hash',
      email_verified_at: now,
      mfa_default_method: null,
    })
    .execute();
  return id;
}

const session = (userId: string, mfaVerifiedAt: number | null = Date.now()): Session => ({
  sessionId: newId(),
  userId,
  mfaVerifiedAt,
  role: 'member',
});

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

interface Registered {
  userId: string;
  credential: SoftCredential;
  handle: string;
  id: string;
}

async function register(
  userId: string,
  options: { kind?: PasskeyKind; counter?: number; session?: Session } = {},
): Promise<Registered> {
  const kind = options.kind ?? 'passkey';
  const who = options.session ?? session(userId);
  const { challengeId, options: creation } = await registrationOptions(depsAt(), who, kind);
  const credential = createSoftCredential();
  const response = softRegistration(credential, {
    origin: ORIGIN,
    rpId: RP_ID,
    challenge: creation.challenge,
    counter: options.counter ?? 0,
    userVerified: kind === 'passkey',
    discoverable: kind === 'passkey',
  });
  const view = await registerPasskey(depsAt(), who, { challengeId, response }, actor);
  return { userId, credential, handle: creation.user.id, id: view.id };
}

/** A passwordless sign-in with the credential reporting `counter`. */
async function signIn(
  passkey: Registered,
  counter: number,
  tweak: { userVerified?: boolean; userHandle?: string } = {},
) {
  const { challengeId, options } = await signInOptions(depsAt());
  const response = softAssertion(passkey.credential, {
    origin: ORIGIN,
    rpId: RP_ID,
    challenge: options.challenge,
    counter,
    userHandle: passkey.handle,
    ...tweak,
  });
  return signInWithPasskey(depsAt(), { challengeId, response }, request);
}

async function storedCounter(id: string): Promise<number> {
  const row = await server.deps.db
    .$extendTables<PasskeyTables>()
    .selectFrom('webauthn_credentials')
    .select('counter')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.counter;
}

describe('the signature counter rule', () => {
  it('accepts only a larger count, and zero after zero', () => {
    expect(signCountVerdict(0, 0)).toBe('ok');
    expect(signCountVerdict(0, 1)).toBe('ok');
    expect(signCountVerdict(4, 5)).toBe('ok');
    expect(signCountVerdict(5, 5)).toBe('not_increased');
    expect(signCountVerdict(5, 3)).toBe('not_increased');
    // A counting authenticator that suddenly reports none is as suspicious as one going back.
    expect(signCountVerdict(5, 0)).toBe('not_increased');
  });

  it('refuses a count that did not go up (a possible clone), records why, and keeps the stored count', async () => {
    const passkey = await register(await newUser(), { counter: 1 });
    expect(await storedCounter(passkey.id)).toBe(1);
    await signIn(passkey, 5);
    expect(await storedCounter(passkey.id)).toBe(5);

    for (const replayed of [5, 3, 0]) {
      const error = await failure(signIn(passkey, replayed));
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.details).toEqual({ reason: 'possible_clone' });
      expect(await storedCounter(passkey.id)).toBe(5);
    }
    const [event] = await listSecurityEvents(server.deps.db, passkey.userId, { limit: 1 });
    expect(event?.kind).toBe('mfa_failed');
    expect(event?.detail).toMatchObject({
      method: 'passkey',
      reason: 'signature_counter_not_increased',
      storedCounter: 5,
      receivedCounter: 0,
    });

    await signIn(passkey, 6);
    expect(await storedCounter(passkey.id)).toBe(6);
  });

  it('lets a synced passkey that never counts (always 0) sign in again and again', async () => {
    const passkey = await register(await newUser());
    for (let i = 0; i < 3; i++) await signIn(passkey, 0);
    expect(await storedCounter(passkey.id)).toBe(0);
  });
});

describe('challenges', () => {
  it('are single-use', async () => {
    const passkey = await register(await newUser());
    const { challengeId, options } = await signInOptions(depsAt());
    const response = softAssertion(passkey.credential, {
      origin: ORIGIN,
      rpId: RP_ID,
      challenge: options.challenge,
      counter: 1,
      userHandle: passkey.handle,
    });
    const tokens = await signInWithPasskey(depsAt(), { challengeId, response }, request);
    expect(tokens.accessToken).toMatch(/^mla_/);
    const replay = await failure(signInWithPasskey(depsAt(), { challengeId, response }, request));
    expect(replay.code).toBe('UNAUTHENTICATED');
    expect(replay.details).toEqual({ reason: 'challenge_expired' });
  });

  it('expire after five minutes', async () => {
    const passkey = await register(await newUser());
    const issuedAt = Date.now();
    const answer = async (at: number, counter: number) => {
      const { challengeId, options } = await signInOptions(depsAt(issuedAt));
      const response = softAssertion(passkey.credential, {
        origin: ORIGIN,
        rpId: RP_ID,
        challenge: options.challenge,
        counter,
        userHandle: passkey.handle,
      });
      return signInWithPasskey(depsAt(at), { challengeId, response }, request);
    };
    await answer(issuedAt + PASSKEY_CHALLENGE_TTL_MS - 1, 1);
    const late = await failure(answer(issuedAt + PASSKEY_CHALLENGE_TTL_MS, 2));
    expect(late.details).toEqual({ reason: 'challenge_expired' });
    // Refused before any signature was read: the counter did not move.
    expect(await storedCounter(passkey.id)).toBe(1);
  });

  it('serve only their own purpose and user', async () => {
    const alice = await register(await newUser());
    const bob = await register(await newUser(), { kind: 'security_key' });

    // A step-up challenge (bound to Alice) cannot sign anyone in passwordless.
    const stepUp = await stepUpOptions(depsAt(), alice.userId);
    const asStepUp = softAssertion(alice.credential, {
      origin: ORIGIN,
      rpId: RP_ID,
      challenge: stepUp.options.challenge,
      counter: 1,
      userHandle: alice.handle,
    });
    expect(
      (await failure(signInWithPasskey(depsAt(), { challengeId: stepUp.challengeId, response: asStepUp }, request)))
        .details,
    ).toEqual({ reason: 'challenge_expired' });

    // Bob's second-factor challenge cannot verify for Alice, nor Alice's credential for Bob.
    const bobs = await secondFactorOptions(depsAt(), bob.userId);
    const aliceAnswers = softAssertion(alice.credential, {
      origin: ORIGIN,
      rpId: RP_ID,
      challenge: bobs.options.challenge,
      counter: 2,
    });
    expect(
      (await failure(verifyPasskeyAssertion(depsAt(), alice.userId, aliceAnswers, bobs.challengeId))).details,
    ).toEqual({ reason: 'challenge_expired' });
    const again = await secondFactorOptions(depsAt(), bob.userId);
    const aliceForBob = softAssertion(alice.credential, {
      origin: ORIGIN,
      rpId: RP_ID,
      challenge: again.options.challenge,
      counter: 3,
    });
    expect(
      (await failure(verifyPasskeyAssertion(depsAt(), bob.userId, aliceForBob, again.challengeId))).details,
    ).toEqual({ reason: 'unknown_credential' });

    // A response signed over another challenge fails verification.
    const real = await secondFactorOptions(depsAt(), bob.userId);
    const other = await secondFactorOptions(depsAt(), bob.userId);
    const wrongChallenge = softAssertion(bob.credential, {
      origin: ORIGIN,
      rpId: RP_ID,
      challenge: other.options.challenge,
      counter: 1,
      userVerified: false,
    });
    expect(
      (await failure(verifyPasskeyAssertion(depsAt(), bob.userId, wrongChallenge, real.challengeId))).details,
    ).toEqual({ reason: 'not_verified' });
  });
});

describe('passwordless sign-in', () => {
  it('opens an MFA-fresh session and logs it like a password sign-in', async () => {
    const passkey = await register(await newUser());
    const before = Date.now();
    const tokens = await signIn(passkey, 1);
    const row = await server.deps.db
      .selectFrom('sessions')
      .select(['user_id', 'mfa_verified_at'])
      .where('id', '=', tokens.sessionId)
      .executeTakeFirstOrThrow();
    expect(row.user_id).toBe(passkey.userId);
    expect(row.mfa_verified_at).toBeGreaterThanOrEqual(before);
    const kinds = (await listSecurityEvents(server.deps.db, passkey.userId, { limit: 3 })).map((e) => e.kind);
    expect(kinds).toEqual(['signed_in', 'new_device', 'mfa_used']);
    const attempts = await server.deps.db
      .selectFrom('sign_in_attempts')
      .select('succeeded')
      .where('user_id', '=', passkey.userId)
      .execute();
    expect(attempts).toEqual([{ succeeded: 1 }]);
  });

  it('needs user verification and the owner’s user handle', async () => {
    const passkey = await register(await newUser());
    expect((await failure(signIn(passkey, 1, { userVerified: false }))).details).toEqual({ reason: 'not_verified' });
    expect((await failure(signIn(passkey, 2, { userHandle: 'c29tZW9uZS1lbHNl' }))).details).toEqual({
      reason: 'not_verified',
    });
    expect(
      (await listSecurityEvents(server.deps.db, passkey.userId, { limit: 2 })).map((e) => e.detail['reason']),
    ).toEqual(['user_handle_mismatch', 'not_verified']);
    expect(await storedCounter(passkey.id)).toBe(0);
  });

  it('refuses a security key (no user verification) as a passwordless sign-in, but takes it as a second factor', async () => {
    const key = await register(await newUser(), { kind: 'security_key' });
    expect((await failure(signIn(key, 1, { userVerified: false, userHandle: key.handle }))).code).toBe(
      'UNAUTHENTICATED',
    );
    const { challengeId, options } = await secondFactorOptions(depsAt(), key.userId);
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([key.id]);
    const verified = await verifyPasskeyAssertion(
      depsAt(),
      key.userId,
      softAssertion(key.credential, {
        origin: ORIGIN,
        rpId: RP_ID,
        challenge: options.challenge,
        counter: 2,
        userVerified: false,
      }),
      challengeId,
    );
    expect(verified).toMatchObject({ userId: key.userId, credentialId: key.id, userVerified: false });
  });
});

describe('the second step of a password sign-in', () => {
  it('asks every password sign-in for the key, and finishes it with an assertion once', async () => {
    const userId = await newUser({ password: PASSWORD });
    const key = await register(userId, { kind: 'security_key' });
    const other = await register(await newUser(), { kind: 'security_key' });
    const email = `${userId}@example.com`;
    const started = await signInWithPassword(depsAt(), { email, password: PASSWORD, device: {} }, request);
    if (started.status !== 'mfa_required') throw new Error(started.status);
    expect(started).toMatchObject({ methods: ['passkey'], defaultMethod: 'passkey', smsSent: false });

    const assertionFor = async (credential: Registered, counter: number) => {
      const { challengeId, options } = await signInSecondStepOptions(depsAt(), started.challengeId);
      expect(options.allowCredentials?.map((c) => c.id)).toEqual([key.id]);
      const response = softAssertion(credential.credential, {
        origin: ORIGIN,
        rpId: RP_ID,
        challenge: options.challenge,
        counter,
        userVerified: false,
      });
      return { challengeId: started.challengeId, passkeyChallengeId: challengeId, response };
    };
    // Someone else's key does not finish this sign-in, and the attempt counts against the challenge.
    expect((await failure(completeSignInWithPasskey(depsAt(), await assertionFor(other, 1)))).code).toBe(
      'UNAUTHENTICATED',
    );
    const input = await assertionFor(key, 1);
    const tokens = await completeSignInWithPasskey(depsAt(), input);
    expect(tokens.accessToken).toMatch(/^mla_/);
    const row = await server.deps.db
      .selectFrom('sessions')
      .select('mfa_verified_at')
      .where('id', '=', tokens.sessionId)
      .executeTakeFirstOrThrow();
    expect(row.mfa_verified_at).not.toBeNull();
    // Replayed: the sign-in and the passkey challenge are both spent.
    expect((await failure(completeSignInWithPasskey(depsAt(), input))).code).toBe('UNAUTHENTICATED');
    const kinds = (await listSecurityEvents(server.deps.db, userId, { limit: 20 })).map((e) => e.kind);
    expect(kinds).toContain('mfa_used');
    expect(kinds).toContain('signed_in');
  });
});

describe('managing credentials', () => {
  it('lets any session add the first credential, and asks for a fresh second factor for the next', async () => {
    const userId = await newUser();
    const stale = session(userId, null);
    await register(userId, { session: stale });
    expect((await failure(registrationOptions(depsAt(), stale, 'security_key'))).code).toBe('STEP_UP_REQUIRED');
    const old = session(userId, Date.now() - server.deps.config.security.stepUpWindowMs - 1);
    expect((await failure(registrationOptions(depsAt(), old, 'passkey'))).code).toBe('STEP_UP_REQUIRED');
    await register(userId, { kind: 'security_key', session: session(userId) });
  });

  it('steps a session up with a security key', async () => {
    const userId = await newUser();
    const passkey = await register(userId);
    const key = await register(userId, { kind: 'security_key' });
    const tokens = await signIn(passkey, 1);
    await server.deps.db
      .updateTable('sessions')
      .set({ mfa_verified_at: null })
      .where('id', '=', tokens.sessionId)
      .execute();
    const current: Session = { sessionId: tokens.sessionId, userId, mfaVerifiedAt: null, role: 'member' };
    const { challengeId, options } = await stepUpOptions(depsAt(), userId);
    const response = softAssertion(key.credential, {
      origin: ORIGIN,
      rpId: RP_ID,
      challenge: options.challenge,
      counter: 1,
      userVerified: false,
    });
    const { verifiedAt } = await stepUpWithPasskey(depsAt(), current, { challengeId, response }, actor);
    const row = await server.deps.db
      .selectFrom('sessions')
      .select('mfa_verified_at')
      .where('id', '=', tokens.sessionId)
      .executeTakeFirstOrThrow();
    expect(row.mfa_verified_at).toBe(verifiedAt.getTime());
  });

  it('renames and removes only the owner’s credentials, and keeps a password-less account’s last one', async () => {
    const owner = await register(await newUser({ password: false }));
    const stranger = await newUser();
    expect((await failure(renamePasskey(depsAt(), stranger, owner.id, 'Mine now'))).code).toBe('NOT_FOUND');
    expect((await failure(removePasskey(depsAt(), stranger, owner.id, actor))).code).toBe('NOT_FOUND');
    expect((await renamePasskey(depsAt(), owner.userId, owner.id, 'Phone')).name).toBe('Phone');
    expect((await failure(removePasskey(depsAt(), owner.userId, owner.id, actor))).code).toBe('PRECONDITION_FAILED');

    const second = await register(owner.userId);
    expect((await removePasskey(depsAt(), owner.userId, owner.id, actor)).removed.name).toBe('Phone');
    expect((await failure(signIn(owner, 1))).details).toEqual({ reason: 'unknown_credential' });
    await signIn(second, 1);
  });

  it('removes every credential of a user at once (an administrator’s reset), and only theirs', async () => {
    const userId = await newUser();
    await register(userId);
    await register(userId, { kind: 'security_key' });
    const other = await register(await newUser());
    expect(await removeAllPasskeys(server.deps.db, userId)).toBe(2);
    expect(await listPasskeys(depsAt(), userId)).toEqual([]);
    expect((await listPasskeys(depsAt(), other.userId)).map((p) => p.id)).toEqual([other.id]);
  });
});
