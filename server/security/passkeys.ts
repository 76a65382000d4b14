/**
 * Passkeys and security keys (WebAuthn / FIDO2), through @simplewebauthn/server.
 *
 * - A **passkey** is a discoverable credential with user verification (a
 *   fingerprint, face or PIN): it signs in on its own, with no email or
 *   password, and counts as both factors, so the session it opens is
 *   MFA-fresh.
 * - A **security key** is a non-discoverable credential (a hardware key
 *   without a resident slot or PIN): a second factor after the password
 *   (`verifyPasskeyAssertion`) and for step-up.
 *
 * Rules:
 * - Several credentials per user, each named, renamable and removable.
 * - The first credential may be added by any signed-in session (it is how a
 *   user gets a second factor at all); once the user has one — a passkey,
 *   a security key or an authenticator app — adding another needs a fresh
 *   second factor (the step-up window), like removing one does.
 * - Challenges are single-use and expire after five minutes; each is bound to
 *   its purpose and (except for passwordless sign-in) to its user.
 * - The signature counter is checked (WebAuthn §7.2 step 22): when either the
 *   stored or the reported count is non-zero, the reported one must be
 *   larger. Otherwise the authenticator may have been cloned: the assertion
 *   is refused, `mfa_failed` is recorded with the reason, and the stored
 *   count is left as it was. Synced passkeys report 0 every time and pass.
 * - Passwordless sign-ins go through the same risk engine, attempt log,
 *   device memory and events as password sign-ins (`finishSignIn`); a
 *   `block` decision still blocks, a `require_mfa` one is already satisfied.
 */
import { randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { COSEALG } from '@simplewebauthn/server/helpers';
import type { Kysely } from 'kysely';
import { AppError, type AppErrorCode } from '../../shared/errors.ts';
import type {
  AuthenticationResponseInput,
  PasskeyKind,
  PasskeyView,
  RegistrationResponseInput,
} from '../../shared/passkeys.ts';
import type { Session } from '../context.ts';
import type { Database } from '../db/schema.ts';
import { assessSignIn } from '../risk/engine.ts';
import { loadSignInHistory, recordSignInAttempt } from '../risk/store.ts';
import { recordSecurityEvent } from './events.ts';
import { afterPasskeyRemoved, enforceFailureLimit, hasEnrolledFactor, loadSecondFactors } from './mfa.ts';
import { newId } from './secrets.ts';
import {
  challengeUser,
  completeChallenge,
  describeRequest,
  finishSignIn,
  type SignInDeps,
  type SignInRequest,
} from './sign-in.ts';

export interface WebauthnUserHandlesTable {
  user_id: string;
  /** base64url of 32 random bytes: the WebAuthn `user.id` every credential of this user carries. */
  handle: string;
}

export interface WebauthnCredentialsTable {
  /** base64url credential id. */
  id: string;
  user_id: string;
  name: string;
  /** base64url COSE public key. */
  public_key: string;
  /** The last accepted signature counter. */
  counter: number;
  /** JSON array of transports. */
  transports: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: number;
  /** 1 for a passkey (resident credential), 0 for a second-factor-only security key. */
  discoverable: number;
  created_at: number;
  last_used_at: number | null;
}

export type ChallengePurpose =
  'register_passkey' | 'register_security_key' | 'passwordless' | 'second_factor' | 'step_up';

export interface WebauthnChallengesTable {
  id: string;
  /** Null for passwordless sign-in: nobody is known until the assertion names its credential. */
  user_id: string | null;
  purpose: ChallengePurpose;
  /** base64url, as sent to the browser. */
  challenge: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/**
 * The tables migration 0008_passkeys creates, to merge into
 * server/db/schema.ts's `Database`. A type alias (not an interface) so it
 * fits `db.$extendTables<PasskeyTables>()`.
 */
export type PasskeyTables = {
  webauthn_user_handles: WebauthnUserHandlesTable;
  webauthn_credentials: WebauthnCredentialsTable;
  webauthn_challenges: WebauthnChallengesTable;
};

export interface PasskeyDeps extends SignInDeps {
  /** The origin browsers use (`ServerDeps.publicOrigin()`); its host name is the WebAuthn RP ID. */
  origin: string;
}

/** Who acted, for the security log. */
export interface PasskeyActor {
  ip: string | null;
  deviceLabel: string | null;
  sessionId: string | null;
}

export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000;
const RP_NAME = 'MegiLance';
/**
 * The library's defaults without ML-DSA-44: Node 24 flags its Web Crypto
 * support as experimental (a warning on first use) and no authenticator
 * offers it yet. Registration options and verification must use the same list.
 */
const SUPPORTED_ALGORITHMS = [COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256];

const tables = (db: Kysely<Database>) => db.$extendTables<PasskeyTables>();
const nowOf = (deps: PasskeyDeps) => (deps.now ?? Date.now)();
const rpIdOf = (deps: PasskeyDeps) => new URL(deps.origin).hostname;
const defaultName = (kind: PasskeyKind) => (kind === 'passkey' ? 'Passkey' : 'Security key');

/**
 * The signature-counter rule (WebAuthn §7.2 step 22). Counters only go up;
 * authenticators without one (synced passkeys) always report 0.
 */
export function signCountVerdict(stored: number, received: number): 'ok' | 'not_increased' {
  if (stored === 0 && received === 0) return 'ok';
  return received > stored ? 'ok' : 'not_increased';
}

function viewOf(row: WebauthnCredentialsTable): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    kind: row.discoverable === 1 ? 'passkey' : 'security_key',
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
    backedUp: row.backed_up === 1,
    synced: row.device_type === 'multiDevice',
    transports: JSON.parse(row.transports) as string[],
  };
}

async function userHandleOf(deps: PasskeyDeps, userId: string): Promise<string> {
  const db = tables(deps.db);
  await db
    .insertInto('webauthn_user_handles')
    .values({ user_id: userId, handle: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .execute();
  const row = await db
    .selectFrom('webauthn_user_handles')
    .select('handle')
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return row.handle;
}

async function issueChallenge(
  deps: PasskeyDeps,
  userId: string | null,
  purpose: ChallengePurpose,
  challenge: string,
  now: number,
): Promise<string> {
  const db = tables(deps.db);
  // Passwordless options are public: expired rows go as new ones come, so they cannot pile up.
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).execute();
  const id = newId();
  await db
    .insertInto('webauthn_challenges')
    .values({
      id,
      user_id: userId,
      purpose,
      challenge,
      created_at: now,
      expires_at: now + PASSKEY_CHALLENGE_TTL_MS,
      used_at: null,
    })
    .execute();
  return id;
}

/**
 * Claims a challenge for one use. Unknown, expired, spent, for another
 * purpose or another user: all answer the same.
 */
async function consumeChallenge(
  deps: PasskeyDeps,
  challengeId: string,
  purposes: readonly ChallengePurpose[],
  userId: string | null,
  now: number,
  code: AppErrorCode,
): Promise<WebauthnChallengesTable> {
  const db = tables(deps.db);
  const row = await db.selectFrom('webauthn_challenges').selectAll().where('id', '=', challengeId).executeTakeFirst();
  const claimed =
    row !== undefined && purposes.includes(row.purpose) && row.user_id === userId
      ? await db
          .updateTable('webauthn_challenges')
          .set({ used_at: now })
          .where('id', '=', challengeId)
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .executeTakeFirst()
      : undefined;
  if (row === undefined || claimed?.numUpdatedRows !== 1n) {
    throw new AppError(code, {
      message: 'This passkey request has expired or was already used. Please try again.',
      details: { reason: 'challenge_expired' },
    });
  }
  return row;
}

async function credentialsOf(deps: PasskeyDeps, userId: string) {
  return tables(deps.db)
    .selectFrom('webauthn_credentials')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
}

export async function hasPasskeys(deps: PasskeyDeps, userId: string): Promise<boolean> {
  const row = await tables(deps.db)
    .selectFrom('webauthn_credentials')
    .select('id')
    .where('user_id', '=', userId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

async function hasSecondFactor(deps: PasskeyDeps, userId: string): Promise<boolean> {
  return hasEnrolledFactor(await loadSecondFactors(deps, userId));
}

/** The step-up rule of server/trpc.ts, applied only once the user has a second factor to prove. */
async function requireFreshSecondFactorIfEnrolled(deps: PasskeyDeps, session: Session, now: number): Promise<void> {
  if (!(await hasSecondFactor(deps, session.userId))) return;
  const verifiedAt = session.mfaVerifiedAt;
  if (verifiedAt === null || now - verifiedAt > deps.config.stepUpWindowMs) {
    throw new AppError('STEP_UP_REQUIRED', {
      details: { windowMinutes: Math.round(deps.config.stepUpWindowMs / 60_000) },
    });
  }
}

export interface PasskeyRegistrationOptions {
  challengeId: string;
  options: PublicKeyCredentialCreationOptionsJSON;
}

export async function registrationOptions(
  deps: PasskeyDeps,
  session: Session,
  kind: PasskeyKind,
): Promise<PasskeyRegistrationOptions> {
  const now = nowOf(deps);
  await requireFreshSecondFactorIfEnrolled(deps, session, now);
  const user = await deps.db
    .selectFrom('users')
    .select(['email', 'display_name'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  const existing = await credentialsOf(deps, session.userId);
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: rpIdOf(deps),
    userName: user.email,
    userDisplayName: user.display_name,
    userID: new Uint8Array(Buffer.from(await userHandleOf(deps, session.userId), 'base64url')),
    attestationType: 'none',
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    timeout: PASSKEY_CHALLENGE_TTL_MS,
    // The same authenticator twice would be one factor under two names.
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: JSON.parse(c.transports) as string[] })),
    authenticatorSelection:
      kind === 'passkey'
        ? { residentKey: 'required', requireResidentKey: true, userVerification: 'required' }
        : { residentKey: 'discouraged', requireResidentKey: false, userVerification: 'preferred' },
    // credProps tells whether the authenticator made a discoverable credential anyway.
    extensions: { credProps: true },
    ...(kind === 'security_key' ? { preferredAuthenticatorType: 'securityKey' as const } : {}),
  });
  const purpose = kind === 'passkey' ? 'register_passkey' : 'register_security_key';
  return { challengeId: await issueChallenge(deps, session.userId, purpose, options.challenge, now), options };
}

export async function registerPasskey(
  deps: PasskeyDeps,
  session: Session,
  input: { challengeId: string; response: RegistrationResponseInput; name?: string | undefined },
  actor: PasskeyActor,
): Promise<PasskeyView> {
  const now = nowOf(deps);
  const challenge = await consumeChallenge(
    deps,
    input.challengeId,
    ['register_passkey', 'register_security_key'],
    session.userId,
    now,
    'PRECONDITION_FAILED',
  );
  // Checked again: another credential may have been added since the options were issued.
  await requireFreshSecondFactorIfEnrolled(deps, session, now);
  const kind: PasskeyKind = challenge.purpose === 'register_passkey' ? 'passkey' : 'security_key';
  const notVerified = () =>
    new AppError('VALIDATION_FAILED', {
      message: 'We could not verify this passkey. Please try again.',
      details: { reason: 'registration_not_verified' },
    });
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      // Shape and sizes checked by shared/passkeys.ts; the library checks the rest.
      response: input.response as RegistrationResponseJSON,
      expectedChallenge: challenge.challenge,
      expectedOrigin: deps.origin,
      expectedRPID: rpIdOf(deps),
      requireUserVerification: kind === 'passkey',
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
  } catch (error) {
    deps.logger.warn({ err: error, userId: session.userId }, 'passkey registration not verified');
    throw notVerified();
  }
  if (!verification.verified) throw notVerified();
  const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;

  const db = tables(deps.db);
  const taken = await db
    .selectFrom('webauthn_credentials')
    .select('id')
    .where('id', '=', credential.id)
    .executeTakeFirst();
  if (taken !== undefined) {
    throw new AppError('CONFLICT', { message: 'This passkey is already registered.' });
  }
  const row: WebauthnCredentialsTable = {
    id: credential.id,
    user_id: session.userId,
    name: input.name ?? defaultName(kind),
    public_key: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: JSON.stringify(credential.transports ?? input.response.response.transports ?? []),
    device_type: credentialDeviceType,
    backed_up: credentialBackedUp ? 1 : 0,
    // A passkey was asked for as resident (the browser fails otherwise); a security key may have made one anyway.
    discoverable: kind === 'passkey' || input.response.clientExtensionResults.credProps?.rk === true ? 1 : 0,
    created_at: now,
    last_used_at: null,
  };
  await db.insertInto('webauthn_credentials').values(row).execute();
  const view = viewOf(row);
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'mfa_added',
    ip: actor.ip,
    deviceLabel: actor.deviceLabel,
    sessionId: actor.sessionId,
    at: now,
    detail: { method: 'passkey', name: row.name, kind: view.kind },
  });
  return view;
}

/**
 * Removes every credential of the user (an administrator's reset of the
 * second factors); the caller records the event. Returns how many went.
 */
export async function removeAllPasskeys(db: Kysely<Database>, userId: string): Promise<number> {
  const result = await tables(db).deleteFrom('webauthn_credentials').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function listPasskeys(deps: PasskeyDeps, userId: string): Promise<PasskeyView[]> {
  return (await credentialsOf(deps, userId)).map(viewOf);
}

const notFound = () => new AppError('NOT_FOUND', { message: 'That passkey is not registered to your account.' });

export async function renamePasskey(deps: PasskeyDeps, userId: string, id: string, name: string): Promise<PasskeyView> {
  const db = tables(deps.db);
  // The user id is part of the filter: another user's credential looks exactly like an unknown one.
  const updated = await db
    .updateTable('webauthn_credentials')
    .set({ name })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (updated.numUpdatedRows !== 1n) throw notFound();
  const row = await db.selectFrom('webauthn_credentials').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return viewOf(row);
}

/** Needs a fresh second factor (the router uses stepUpProcedure). */
export async function removePasskey(
  deps: PasskeyDeps,
  userId: string,
  id: string,
  actor: PasskeyActor,
): Promise<{ removed: PasskeyView }> {
  const now = nowOf(deps);
  const db = tables(deps.db);
  const row = await db
    .selectFrom('webauthn_credentials')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (row === undefined) throw notFound();
  const user = await deps.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  if (user.password_hash === null && (await credentialsOf(deps, userId)).length === 1) {
    throw new AppError('PRECONDITION_FAILED', {
      message: 'This is the only way you can sign in. Set a password or add another passkey before removing it.',
    });
  }
  await db.deleteFrom('webauthn_credentials').where('id', '=', id).where('user_id', '=', userId).execute();
  await recordSecurityEvent(deps.db, {
    userId,
    kind: 'mfa_removed',
    ip: actor.ip,
    deviceLabel: actor.deviceLabel,
    sessionId: actor.sessionId,
    at: now,
    detail: { method: 'passkey', name: row.name },
  });
  await afterPasskeyRemoved(deps, userId, row.name);
  return { removed: viewOf(row) };
}

export interface PasskeyAssertionOptions {
  challengeId: string;
  options: PublicKeyCredentialRequestOptionsJSON;
}

/** Passwordless sign-in: no user yet, so the browser offers the discoverable credentials it has for this site. */
export async function signInOptions(deps: PasskeyDeps): Promise<PasskeyAssertionOptions> {
  const now = nowOf(deps);
  const options = await generateAuthenticationOptions({
    rpID: rpIdOf(deps),
    userVerification: 'required',
    timeout: PASSKEY_CHALLENGE_TTL_MS,
  });
  return { challengeId: await issueChallenge(deps, null, 'passwordless', options.challenge, now), options };
}

async function optionsForUser(
  deps: PasskeyDeps,
  userId: string,
  purpose: 'second_factor' | 'step_up',
): Promise<PasskeyAssertionOptions> {
  const now = nowOf(deps);
  const credentials = await credentialsOf(deps, userId);
  if (credentials.length === 0) {
    throw new AppError('PRECONDITION_FAILED', { message: 'You have no passkey or security key yet.' });
  }
  const options = await generateAuthenticationOptions({
    rpID: rpIdOf(deps),
    allowCredentials: credentials.map((c) => ({ id: c.id, transports: JSON.parse(c.transports) as string[] })),
    // A security key after the password (or inside a session) proves possession; a PIN is welcome, not required.
    userVerification: 'preferred',
    timeout: PASSKEY_CHALLENGE_TTL_MS,
  });
  return { challengeId: await issueChallenge(deps, userId, purpose, options.challenge, now), options };
}

/** Options for proving a second factor with any of the user's credentials (the sign-in challenge step). */
export function secondFactorOptions(deps: PasskeyDeps, userId: string): Promise<PasskeyAssertionOptions> {
  return optionsForUser(deps, userId, 'second_factor');
}

export function stepUpOptions(deps: PasskeyDeps, userId: string): Promise<PasskeyAssertionOptions> {
  return optionsForUser(deps, userId, 'step_up');
}

interface AssertionCheck {
  purpose: 'passwordless' | 'second_factor' | 'step_up';
  /** The user the challenge was issued to; null for passwordless sign-in. */
  userId: string | null;
  requireUserVerification: boolean;
  /** What a refused assertion answers (a sign-in: UNAUTHENTICATED; inside a session: VALIDATION_FAILED). */
  failureCode: AppErrorCode;
  /** What an expired or spent challenge answers. */
  expiredCode: AppErrorCode;
  actor: PasskeyActor;
  now: number;
  /** For sign-ins: a refused assertion also counts as a failed sign-in attempt (the risk engine's velocity). */
  failedAttempt?: ReturnType<typeof describeRequest>;
}

export interface VerifiedAssertion {
  userId: string;
  credentialId: string;
  name: string;
  userVerified: boolean;
}

async function verifyAssertion(
  deps: PasskeyDeps,
  challengeId: string,
  response: AuthenticationResponseInput,
  check: AssertionCheck,
): Promise<VerifiedAssertion> {
  const { now, actor } = check;
  const challenge = await consumeChallenge(deps, challengeId, [check.purpose], check.userId, now, check.expiredCode);
  const db = tables(deps.db);
  const credential = await db
    .selectFrom('webauthn_credentials')
    .selectAll()
    .where('id', '=', response.id)
    .executeTakeFirst();
  if (credential === undefined || (check.userId !== null && credential.user_id !== check.userId)) {
    throw new AppError(check.failureCode, {
      message: 'This passkey is not registered with MegiLance. It may have been removed.',
      details: { reason: 'unknown_credential' },
    });
  }

  const refuse = async (reason: string, message: string, extra: Record<string, number> = {}): Promise<never> => {
    await recordSecurityEvent(deps.db, {
      userId: credential.user_id,
      kind: 'mfa_failed',
      ip: actor.ip,
      deviceLabel: actor.deviceLabel,
      sessionId: actor.sessionId,
      at: now,
      detail: {
        method: 'passkey',
        purpose: check.purpose === 'step_up' ? 'step_up' : 'sign_in',
        reason,
        name: credential.name,
        ...extra,
      },
    });
    if (check.failedAttempt !== undefined) {
      const described = check.failedAttempt;
      const user = await deps.db
        .selectFrom('users')
        .select('email_normalized')
        .where('id', '=', credential.user_id)
        .executeTakeFirstOrThrow();
      await recordSignInAttempt(deps.db, {
        userId: credential.user_id,
        emailNormalized: user.email_normalized,
        ip: described.signals.ip,
        succeeded: false,
        at: now,
        geo: described.signals.geo,
        device: described.signals.device,
        assessment: null,
      });
    }
    throw new AppError(check.failureCode, {
      message,
      details: { reason: reason === 'signature_counter_not_increased' ? 'possible_clone' : 'not_verified' },
    });
  };

  // A discoverable credential names its user; it must be the credential's owner.
  const presentedHandle = response.response.userHandle;
  if (presentedHandle !== undefined || check.purpose === 'passwordless') {
    const owner = await db
      .selectFrom('webauthn_user_handles')
      .select('handle')
      .where('user_id', '=', credential.user_id)
      .executeTakeFirst();
    if (presentedHandle === undefined || owner?.handle !== presentedHandle) {
      return refuse('user_handle_mismatch', 'We could not verify that passkey. Please try again.');
    }
  }

  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      // Shape and sizes checked by shared/passkeys.ts; the library checks the rest.
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge.challenge,
      expectedOrigin: deps.origin,
      expectedRPID: rpIdOf(deps),
      credential: {
        id: credential.id,
        publicKey: new Uint8Array(Buffer.from(credential.public_key, 'base64url')),
        // 0 switches the library's own counter check off: signCountVerdict below applies the
        // same rule, and a refusal then records why.
        counter: 0,
        transports: JSON.parse(credential.transports) as string[],
      },
      requireUserVerification: check.requireUserVerification,
    });
  } catch (error) {
    deps.logger.warn({ err: error, credentialId: credential.id }, 'passkey assertion not verified');
    return refuse('not_verified', 'We could not verify that passkey. Please try again.');
  }
  if (!verification.verified) return refuse('not_verified', 'We could not verify that passkey. Please try again.');

  const info = verification.authenticationInfo;
  const received = info.newCounter;
  const cloned = () =>
    refuse(
      'signature_counter_not_increased',
      'This passkey reported a use count that did not go up, which can mean it was copied. ' +
        'Sign in another way and check your passkeys; remove this one if you do not recognise its use.',
      { storedCounter: credential.counter, receivedCounter: received },
    );
  if (signCountVerdict(credential.counter, received) !== 'ok') return cloned();
  // The same rule again in the update, so two racing assertions cannot both pass with one count.
  const stored = await db
    .updateTable('webauthn_credentials')
    .set({
      counter: received,
      last_used_at: now,
      backed_up: info.credentialBackedUp ? 1 : 0,
      device_type: info.credentialDeviceType,
    })
    .where('id', '=', credential.id)
    .where((eb) => (received === 0 ? eb('counter', '=', 0) : eb('counter', '<', received)))
    .executeTakeFirst();
  if (stored.numUpdatedRows !== 1n) return cloned();
  return {
    userId: credential.user_id,
    credentialId: credential.id,
    name: credential.name,
    userVerified: info.userVerified,
  };
}

/**
 * A passkey or security key as the second factor of a sign-in (after the
 * password), for sign-in.ts's method dispatch. The challenge must come from
 * `secondFactorOptions(deps, userId)`. Records `mfa_failed` (with the reason)
 * itself when it refuses; the caller records `mfa_used` on success.
 */
export async function verifyPasskeyAssertion(
  deps: PasskeyDeps,
  userId: string,
  response: AuthenticationResponseInput,
  challengeId: string,
  actor: PasskeyActor = { ip: null, deviceLabel: null, sessionId: null },
): Promise<VerifiedAssertion> {
  return verifyAssertion(deps, challengeId, response, {
    purpose: 'second_factor',
    userId,
    requireUserVerification: false,
    failureCode: 'UNAUTHENTICATED',
    expiredCode: 'UNAUTHENTICATED',
    actor,
    now: nowOf(deps),
  });
}

/**
 * The options for the second step of a password sign-in (an open sign-in
 * challenge): any of that user's credentials.
 */
export async function signInSecondStepOptions(deps: PasskeyDeps, signInChallengeId: string) {
  const userId = await challengeUser(deps, signInChallengeId);
  if ((await credentialsOf(deps, userId)).length === 0) {
    throw new AppError('PRECONDITION_FAILED', {
      message: 'No passkey or security key is set up for this account. Choose another way.',
    });
  }
  return secondFactorOptions(deps, userId);
}

/**
 * Finishes a password sign-in with a passkey or security key as the second
 * step: the same challenge, limits and events as a typed code.
 */
export async function completeSignInWithPasskey(
  deps: PasskeyDeps,
  input: { challengeId: string; passkeyChallengeId: string; response: AuthenticationResponseInput },
) {
  return completeChallenge(deps, input.challengeId, 'passkey', async (userId, context) => {
    if (!context.allowed.includes('passkey')) {
      return { ok: false, detail: { method: 'passkey', reason: 'not_offered' } };
    }
    const now = nowOf(deps);
    await enforceFailureLimit(deps, userId, context, now);
    const actor = { ip: context.ip, deviceLabel: context.deviceLabel, sessionId: null };
    const verified = await verifyPasskeyAssertion(deps, userId, input.response, input.passkeyChallengeId, actor);
    await recordSecurityEvent(deps.db, {
      userId,
      kind: 'mfa_used',
      ip: context.ip,
      deviceLabel: context.deviceLabel,
      sessionId: null,
      at: now,
      detail: { method: 'passkey', name: verified.name, purpose: 'sign_in' },
    });
    return { ok: true, detail: { method: 'passkey' } };
  });
}

/** Proves a second factor inside a session with a passkey or security key: the session becomes MFA-fresh. */
export async function stepUpWithPasskey(
  deps: PasskeyDeps,
  session: Session,
  input: { challengeId: string; response: AuthenticationResponseInput },
  actor: PasskeyActor,
): Promise<{ verifiedAt: Date; windowMinutes: number }> {
  const now = nowOf(deps);
  const verified = await verifyAssertion(deps, input.challengeId, input.response, {
    purpose: 'step_up',
    userId: session.userId,
    requireUserVerification: false,
    failureCode: 'VALIDATION_FAILED',
    expiredCode: 'PRECONDITION_FAILED',
    actor,
    now,
  });
  await deps.db
    .updateTable('sessions')
    .set({ mfa_verified_at: now })
    .where('id', '=', session.sessionId)
    .where('user_id', '=', session.userId)
    .execute();
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'mfa_used',
    ip: actor.ip,
    deviceLabel: actor.deviceLabel,
    sessionId: session.sessionId,
    at: now,
    detail: { method: 'passkey', name: verified.name, purpose: 'step_up' },
  });
  return { verifiedAt: new Date(now), windowMinutes: Math.round(deps.config.stepUpWindowMs / 60_000) };
}

type Tokens = Awaited<ReturnType<typeof finishSignIn>>;

/** Passwordless sign-in: the passkey names its user and proves both factors. */
export async function signInWithPasskey(
  deps: PasskeyDeps,
  input: { challengeId: string; response: AuthenticationResponseInput },
  request: SignInRequest,
): Promise<Tokens> {
  const now = nowOf(deps);
  const described = describeRequest(deps, request, now);
  const actor = { ip: described.signals.ip, deviceLabel: described.session.label, sessionId: null };
  const verified = await verifyAssertion(deps, input.challengeId, input.response, {
    purpose: 'passwordless',
    userId: null,
    requireUserVerification: true,
    failureCode: 'UNAUTHENTICATED',
    expiredCode: 'UNAUTHENTICATED',
    actor,
    now,
    failedAttempt: described,
  });
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email_normalized', 'status'])
    .where('id', '=', verified.userId)
    .executeTakeFirstOrThrow();
  const failedAttempt = {
    userId: user.id,
    emailNormalized: user.email_normalized,
    ip: described.signals.ip,
    succeeded: false,
    at: now,
    geo: described.signals.geo,
    device: described.signals.device,
  };
  if (user.status !== 'active') {
    await recordSignInAttempt(deps.db, { ...failedAttempt, assessment: null });
    await recordSecurityEvent(deps.db, {
      ...actor,
      userId: user.id,
      kind: 'sign_in_failed',
      at: now,
      detail: { reason: 'account disabled', method: 'passkey', place: described.session.location },
    });
    throw new AppError('UNAUTHENTICATED', { message: 'This account cannot sign in. Contact support.' });
  }

  const history = await loadSignInHistory(
    deps.db,
    { userId: user.id, emailNormalized: user.email_normalized, ip: described.signals.ip, now },
    {
      accountWindowMinutes: deps.config.risk.policy.failureVelocity.accountWindowMinutes,
      ipWindowMinutes: deps.config.risk.policy.failureVelocity.ipWindowMinutes,
    },
  );
  const assessment = assessSignIn(described.signals, history, deps.config.risk.policy);
  if (assessment.decision === 'block') {
    const reasons = assessment.reasons.filter((r) => r.weight > 0).map((r) => r.message);
    await recordSignInAttempt(deps.db, { ...failedAttempt, assessment });
    await recordSecurityEvent(deps.db, {
      ...actor,
      userId: user.id,
      kind: 'sign_in_blocked',
      at: now,
      detail: { score: assessment.score, reasons: reasons.join(' '), method: 'passkey' },
    });
    throw new AppError('FORBIDDEN', {
      message: `We blocked this sign-in to protect your account: ${reasons.join(' ')} If this was you, try again from a usual device or network, or contact support.`,
      details: { riskScore: assessment.score },
    });
  }
  // `require_mfa` is already met: the passkey was verified with user verification.
  await recordSecurityEvent(deps.db, {
    ...actor,
    userId: user.id,
    kind: 'mfa_used',
    at: now,
    detail: { method: 'passkey', purpose: 'sign_in', name: verified.name },
  });
  return finishSignIn(deps, user.id, described, user.email_normalized, assessment, {
    now,
    mfaVerifiedAt: now,
    method: 'passkey',
  });
}
