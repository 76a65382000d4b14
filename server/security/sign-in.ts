/**
 * Signing in: brute-force limits, the password, the risk decision, and — when
 * the risk or the account asks for one — a second factor before any session
 * exists. An account with an authenticator app is always asked for it (or a
 * backup code), and email codes are not offered to it (see mfa.ts). Every
 * attempt is recorded (sign_in_attempts), so the limits and the risk history
 * survive restarts and hold across API nodes.
 */
import type { Kysely } from 'kysely';
import type { ClientDevice, SignInInput } from '../../shared/accounts.ts';
import { AppError } from '../../shared/errors.ts';
import type { CodeMethod, SecondFactorMethod } from '../../shared/mfa.ts';
import type { Database } from '../db/schema.ts';
import { assessSignIn, type RiskAssessment } from '../risk/engine.ts';
import { describePlace, type GeoLocation } from '../risk/geo.ts';
import type { ReputationLists } from '../risk/ip-reputation.ts';
import { gatherSignInSignals, type GatheredSignals } from '../risk/signals.ts';
import { loadSignInHistory, recordSignInAttempt, rememberDevice } from '../risk/store.ts';
import { maskPhoneNumber } from '../delivery/sms.ts';
import {
  consumeOneTimeCode,
  findUserByEmail,
  issueEmailCode,
  issueSmsCode,
  normaliseEmail,
  type AccountsDeps,
} from './accounts.ts';
import { recordSecurityEvent } from './events.ts';
import {
  secondFactorRefused,
  signInSecondFactor,
  verifySecondFactor,
  type FactorContext,
  type SecondFactorOutcome,
} from './mfa.ts';
import { newId } from './secrets.ts';
import { createSession, type SessionDevice } from './sessions.ts';

export type { SecondFactorMethod };

export interface SignInDeps extends AccountsDeps {
  riskLists: ReputationLists;
  locate: (ip: string) => GeoLocation | null;
}

/** What the transport knows about the caller. */
export interface SignInRequest {
  ip: string;
  userAgent: string | null;
  kind: 'desktop' | 'web';
  reported: ClientDevice;
}

const CHALLENGE_TTL_MS = 10 * 60_000;
const CHALLENGE_MAX_ATTEMPTS = 5;
const HOUR_MS = 3_600_000;

type Tokens = Awaited<ReturnType<typeof createSession>>;

export type SignInResult =
  | { status: 'signed_in'; tokens: Tokens }
  | { status: 'email_verification_required'; email: string }
  | {
      status: 'mfa_required';
      challengeId: string;
      methods: SecondFactorMethod[];
      defaultMethod: SecondFactorMethod;
      reasons: string[];
      /** The verified phone, masked, when `sms` is offered. */
      phone: string | null;
      /** Whether a code was texted already (SMS is the default method); otherwise `auth.sendSignInCode`. */
      smsSent: boolean;
    };

/** Signals, the device as a session will show it, and where the caller is. */
export function describeRequest(
  deps: SignInDeps,
  request: SignInRequest,
  at: number,
): GatheredSignals & { session: SessionDevice } {
  const gathered = gatherSignInSignals(
    {
      ip: request.ip,
      at,
      client: {
        userAgent: request.userAgent ?? '',
        installId: request.kind === 'desktop' ? request.reported.installId : undefined,
        appVersion: request.reported.appVersion,
        language: request.reported.language,
        timezone: request.reported.timezone,
        screen: request.reported.screen,
      },
    },
    deps.riskLists,
    deps.locate,
  );
  const { geo } = gathered.signals;
  return {
    ...gathered,
    session: {
      label: gathered.device.label,
      fingerprint: gathered.device.fingerprint,
      platform: gathered.device.platform,
      appVersion: gathered.device.appVersion,
      ip: gathered.signals.ip,
      location: geo === null ? null : describePlace(geo),
    },
  };
}

async function countFailuresSince(
  db: Kysely<Database>,
  column: 'email_normalized' | 'ip',
  value: string,
  since: number,
) {
  const rows = await db
    .selectFrom('sign_in_attempts')
    .select(['at'])
    .where(column, '=', value)
    .where('succeeded', '=', 0)
    .where('at', '>', since)
    .orderBy('at', 'asc')
    .execute();
  return { count: rows.length, oldest: rows[0]?.at ?? null };
}

/** ASVS 2.2.1: refuse further attempts past the hourly limits, saying when to try again. */
async function enforceBruteForceLimits(
  deps: SignInDeps,
  emailNormalized: string,
  ip: string,
  userId: string | null,
  now: number,
) {
  const since = now - HOUR_MS;
  const [account, fromIp] = await Promise.all([
    countFailuresSince(deps.db, 'email_normalized', emailNormalized, since),
    countFailuresSince(deps.db, 'ip', ip, since),
  ]);
  const limited =
    account.count >= deps.config.maxFailuresPerAccountHour
      ? account
      : fromIp.count >= deps.config.maxFailuresPerIpHour
        ? fromIp
        : null;
  if (limited === null) return;
  const retryAfterSeconds = Math.max(1, Math.ceil(((limited.oldest ?? now) + HOUR_MS - now) / 1000));
  await recordSecurityEvent(deps.db, {
    userId,
    kind: 'rate_limited',
    ip,
    at: now,
    detail: { scope: limited === account ? 'account' : 'ip', failuresLastHour: limited.count },
  });
  throw new AppError('RATE_LIMITED', {
    message: `Too many failed sign-in attempts. Try again in ${Math.ceil(retryAfterSeconds / 60)} minutes, or reset your password.`,
    details: { retryAfterSeconds },
  });
}

/** Creates the session once every check passed, and records the attempt, the device and the events. */
export async function finishSignIn(
  deps: SignInDeps,
  userId: string,
  described: ReturnType<typeof describeRequest>,
  emailNormalized: string,
  assessment: RiskAssessment,
  context: { now: number; mfaVerifiedAt: number | null; method: string },
): Promise<Tokens> {
  const { now } = context;
  const tokens = await createSession(deps.db, deps.config, userId, described.session, {
    mfaVerifiedAt: context.mfaVerifiedAt,
    now,
  });
  await recordSignInAttempt(deps.db, {
    userId,
    emailNormalized,
    ip: described.signals.ip,
    succeeded: true,
    at: now,
    geo: described.signals.geo,
    device: described.signals.device,
    assessment,
  });
  await rememberDevice(deps.db, {
    userId,
    fingerprint: described.device.fingerprint,
    label: described.device.label,
    at: now,
    ip: described.signals.ip,
    country: described.signals.geo?.country ?? null,
  });
  const event = {
    userId,
    ip: described.signals.ip,
    deviceLabel: described.session.label,
    sessionId: tokens.sessionId,
    at: now,
  };
  if (assessment.newDeviceNotice !== null) {
    await recordSecurityEvent(deps.db, {
      ...event,
      kind: 'new_device',
      detail: { message: assessment.newDeviceNotice },
    });
  }
  await recordSecurityEvent(deps.db, {
    ...event,
    kind: 'signed_in',
    detail: { method: context.method, riskScore: assessment.score, place: described.session.location },
  });
  return tokens;
}

export async function signIn(deps: SignInDeps, input: SignInInput, request: SignInRequest): Promise<SignInResult> {
  const now = (deps.now ?? Date.now)();
  const emailNormalized = normaliseEmail(input.email);
  const described = describeRequest(deps, request, now);
  const user = await deps.db
    .selectFrom('users')
    .selectAll()
    .where('email_normalized', '=', emailNormalized)
    .executeTakeFirst();
  await enforceBruteForceLimits(deps, emailNormalized, described.signals.ip, user?.id ?? null, now);

  const passwordOk = await deps.hasher.verify(user?.password_hash ?? null, input.password);
  if (user === undefined || !passwordOk || user.status !== 'active') {
    await recordSignInAttempt(deps.db, {
      userId: user?.id ?? null,
      emailNormalized,
      ip: described.signals.ip,
      succeeded: false,
      at: now,
      geo: described.signals.geo,
      device: described.signals.device,
      assessment: null,
    });
    if (user !== undefined) {
      await recordSecurityEvent(deps.db, {
        userId: user.id,
        kind: 'sign_in_failed',
        ip: described.signals.ip,
        deviceLabel: described.session.label,
        at: now,
        detail: { reason: passwordOk ? 'account disabled' : 'wrong password', place: described.session.location },
      });
    }
    throw new AppError('UNAUTHENTICATED', { message: 'That email and password do not match an account.' });
  }
  if (user.email_verified_at === null) {
    await issueEmailCode(deps, user, 'verify_email');
    return { status: 'email_verification_required', email: user.email };
  }

  const history = await loadSignInHistory(
    deps.db,
    { userId: user.id, emailNormalized, ip: described.signals.ip, now },
    {
      accountWindowMinutes: deps.config.risk.policy.failureVelocity.accountWindowMinutes,
      ipWindowMinutes: deps.config.risk.policy.failureVelocity.ipWindowMinutes,
    },
  );
  const assessment = assessSignIn(described.signals, history, deps.config.risk.policy);
  const reasons = assessment.reasons.filter((r) => r.weight > 0).map((r) => r.message);

  if (assessment.decision === 'block') {
    await recordSignInAttempt(deps.db, {
      userId: user.id,
      emailNormalized,
      ip: described.signals.ip,
      succeeded: false,
      at: now,
      geo: described.signals.geo,
      device: described.signals.device,
      assessment,
    });
    await recordSecurityEvent(deps.db, {
      userId: user.id,
      kind: 'sign_in_blocked',
      ip: described.signals.ip,
      deviceLabel: described.session.label,
      at: now,
      detail: { score: assessment.score, reasons: reasons.join(' ') },
    });
    throw new AppError('FORBIDDEN', {
      message: `We blocked this sign-in to protect your account: ${reasons.join(' ')} If this was you, try again from a usual device or network, or contact support.`,
      details: { riskScore: assessment.score },
    });
  }

  const secondFactor = await signInSecondFactor(deps, user.id);
  if (assessment.decision === 'require_mfa' || secondFactor.alwaysRequired) {
    const challengeId = newId();
    await deps.db
      .insertInto('sign_in_challenges')
      .values({
        id: challengeId,
        user_id: user.id,
        created_at: now,
        expires_at: now + CHALLENGE_TTL_MS,
        completed_at: null,
        ip: described.signals.ip,
        device_json: JSON.stringify(request),
        assessment_json: JSON.stringify(assessment),
      })
      .execute();
    if (assessment.decision === 'require_mfa') {
      await recordSecurityEvent(deps.db, {
        userId: user.id,
        kind: 'risk_decision',
        ip: described.signals.ip,
        deviceLabel: described.session.label,
        at: now,
        detail: { decision: 'require_mfa', score: assessment.score, reasons: reasons.join(' ') },
      });
    }
    // Email codes only for accounts without an enrolled factor: with one, they would weaken it.
    if (secondFactor.methods.includes('email')) await issueEmailCode(deps, user, 'sign_in');
    let smsSent = false;
    if (secondFactor.defaultMethod === 'sms' && secondFactor.phone !== null) {
      // Texts cost money and are rate limited: sent unasked only to those who chose SMS as their default.
      try {
        await issueSmsCode(deps, user.id, secondFactor.phone.number, 'sms_sign_in');
        smsSent = true;
      } catch (error) {
        deps.logger.warn({ err: error, userId: user.id }, 'sign-in code not texted; the user can ask again');
      }
    }
    return {
      status: 'mfa_required',
      challengeId,
      methods: secondFactor.methods,
      defaultMethod: secondFactor.defaultMethod,
      reasons: assessment.decision === 'require_mfa' ? reasons : [],
      phone:
        secondFactor.methods.includes('sms') && secondFactor.phone !== null
          ? maskPhoneNumber(secondFactor.phone.number)
          : null,
      smsSent,
    };
  }

  return {
    status: 'signed_in',
    tokens: await finishSignIn(deps, user.id, described, emailNormalized, assessment, {
      now,
      mfaVerifiedAt: null,
      method: 'password',
    }),
  };
}

async function openChallenge(deps: SignInDeps, challengeId: string, now: number) {
  const challenge = await deps.db
    .selectFrom('sign_in_challenges')
    .selectAll()
    .where('id', '=', challengeId)
    .executeTakeFirst();
  if (
    challenge === undefined ||
    challenge.completed_at !== null ||
    challenge.expires_at <= now ||
    challenge.attempts >= CHALLENGE_MAX_ATTEMPTS
  ) {
    throw new AppError('UNAUTHENTICATED', {
      message: 'This sign-in has expired. Please sign in again.',
      details: { reason: 'challenge_expired' },
    });
  }
  return challenge;
}

/** Mails or texts a (new) code for an open sign-in challenge, if that channel is one the challenge offers. */
export async function resendSignInCode(
  deps: SignInDeps,
  challengeId: string,
  channel: 'email' | 'sms' = 'email',
): Promise<{ to: string }> {
  const challenge = await openChallenge(deps, challengeId, (deps.now ?? Date.now)());
  const secondFactor = await signInSecondFactor(deps, challenge.user_id);
  if (!secondFactor.methods.includes(channel)) {
    throw new AppError('PRECONDITION_FAILED', {
      message:
        channel === 'sms'
          ? 'Text messages are not a sign-in method for this account. Choose another way.'
          : 'This account uses two-step verification: use one of its methods, or one of your backup codes.',
    });
  }
  if (channel === 'sms') {
    const number = secondFactor.phone!.number;
    await issueSmsCode(deps, challenge.user_id, number, 'sms_sign_in');
    return { to: maskPhoneNumber(number) };
  }
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'display_name'])
    .where('id', '=', challenge.user_id)
    .executeTakeFirstOrThrow();
  await issueEmailCode(deps, user, 'sign_in');
  return { to: user.email };
}

/**
 * Proves the second factor of an open challenge: given the methods the account
 * offers now and the factor context, answers the outcome (or throws).
 */
export type SecondFactorProver = (userId: string, context: FactorContext) => Promise<SecondFactorOutcome>;

/** Finishes a sign-in challenge with a typed code (authenticator, SMS, email, backup code). */
export async function completeSignIn(
  deps: SignInDeps,
  input: { challengeId: string; method: CodeMethod; code: string },
): Promise<Tokens & { backupCodesRemaining?: number }> {
  return completeChallenge(deps, input.challengeId, input.method, (userId, context) =>
    verifySecondFactor(deps, userId, { method: input.method, code: input.code }, context),
  );
}

/**
 * The one way a challenge ends in a session: the account's current methods
 * (a factor added meanwhile counts at once), the prover, the challenge's own
 * attempt limit, then a single-use claim and `finishSignIn`.
 */
export async function completeChallenge(
  deps: SignInDeps,
  challengeId: string,
  method: SecondFactorMethod,
  prove: SecondFactorProver,
): Promise<Tokens & { backupCodesRemaining?: number }> {
  const now = (deps.now ?? Date.now)();
  const challenge = await openChallenge(deps, challengeId, now);
  const request = JSON.parse(challenge.device_json) as SignInRequest;
  const described = describeRequest(deps, request, now);
  const { methods } = await signInSecondFactor(deps, challenge.user_id);
  const countAttempt = () =>
    deps.db
      .updateTable('sign_in_challenges')
      .set({ attempts: challenge.attempts + 1 })
      .where('id', '=', challenge.id)
      .execute();
  let outcome: SecondFactorOutcome;
  try {
    outcome = await prove(challenge.user_id, {
      purpose: 'sign_in',
      allowed: methods,
      ip: described.signals.ip,
      deviceLabel: described.session.label,
      sessionId: null,
    });
  } catch (error) {
    await countAttempt();
    throw error;
  }
  if (!outcome.ok) {
    await countAttempt();
    throw secondFactorRefused(outcome);
  }
  const claimed = await deps.db
    .updateTable('sign_in_challenges')
    .set({ completed_at: now })
    .where('id', '=', challenge.id)
    .where('completed_at', 'is', null)
    .executeTakeFirst();
  if (claimed.numUpdatedRows !== 1n)
    throw new AppError('UNAUTHENTICATED', { message: 'This sign-in has already been completed.' });
  const user = await deps.db
    .selectFrom('users')
    .select(['email_normalized'])
    .where('id', '=', challenge.user_id)
    .executeTakeFirstOrThrow();
  const assessment = JSON.parse(challenge.assessment_json) as RiskAssessment;
  const tokens = await finishSignIn(deps, challenge.user_id, described, user.email_normalized, assessment, {
    now,
    mfaVerifiedAt: now,
    method,
  });
  const remaining = outcome.detail.backupCodesRemaining;
  return remaining === undefined ? tokens : { ...tokens, backupCodesRemaining: remaining };
}

/** The user a sign-in challenge belongs to, while it is open (for the passkey options of its second step). */
export async function challengeUser(deps: SignInDeps, challengeId: string): Promise<string> {
  return (await openChallenge(deps, challengeId, (deps.now ?? Date.now)())).user_id;
}

/** Confirms the email with its mailed code and signs in on this device (which becomes a known device). */
export async function verifyEmailAndSignIn(
  deps: SignInDeps,
  input: { email: string; code: string },
  request: SignInRequest,
): Promise<Tokens> {
  const user = await findUserByEmail(deps.db, input.email);
  if (user === undefined || !(await consumeOneTimeCode(deps, user.id, 'verify_email', input.code))) {
    throw new AppError('VALIDATION_FAILED', {
      message: 'That code is not right or has expired.',
      fieldErrors: { code: ['That code is not right or has expired. Check the latest email or ask for a new code.'] },
    });
  }
  const now = (deps.now ?? Date.now)();
  const described = describeRequest(deps, request, now);
  await deps.db
    .updateTable('users')
    .set({ email_verified_at: now, updated_at: now })
    .where('id', '=', user.id)
    .execute();
  await recordSecurityEvent(deps.db, {
    userId: user.id,
    kind: 'email_verified',
    ip: described.signals.ip,
    deviceLabel: described.session.label,
    at: now,
  });
  // The mailed code proved the person; the device that received it starts as known.
  const assessment: RiskAssessment = {
    score: 0,
    decision: 'allow',
    reasons: [],
    newDeviceNotice: null,
    deviceAndPlace: described.session.label,
  };
  return finishSignIn(deps, user.id, described, user.email_normalized, assessment, {
    now,
    mfaVerifiedAt: null,
    method: 'email_code',
  });
}
