/**
 * Two-step verification: which second factors a user has, the one check that
 * sign-in and step-up both use (`verifySecondFactor`), and setting factors up
 * and taking them away. Decisions (see server/security/README.md):
 *
 * - With an authenticator app, every sign-in asks for it, and email codes are
 *   no longer a second factor: a mailbox is "something you know" again (its
 *   password), so accepting it would make the account only as strong as the
 *   mailbox (Auth0 calls email "not true MFA"; GitHub never falls back to
 *   email for 2FA accounts). The fallback is a backup code; past that, the
 *   admin reset (`adminResetSecondFactors`). Without an app, risky sign-ins
 *   are still challenged by email.
 * - Setting up the first factor needs the password again (GitHub's sudo
 *   mode), or a second factor proved within the step-up window. A stolen
 *   access token alone cannot lock the owner out with an attacker's app.
 * - Changing factors (remove, new backup codes, default method) needs
 *   step-up: a second factor within STEP_UP_WINDOW_MINUTES (`mfa.stepUp`).
 * - Wrong second factors are limited per account (MFA_MAX_FAILURES_PER_HOUR),
 *   across challenges and sessions, on top of each challenge's own limit.
 */
import { AppError } from '../../shared/errors.ts';
import {
  secondFactorMethods,
  type IssuedBackupCodes,
  type MfaStatus,
  type SecondFactorMethod,
  type TotpEnrollment,
} from '../../shared/mfa.ts';
import type { Session } from '../context.ts';
import { consumeEmailCode, issueEmailCode, recheckPassword, type AccountsDeps } from './accounts.ts';
import { backupCodeSummary, consumeBackupCode, deleteBackupCodes, issueBackupCodes } from './backup-codes.ts';
import { recordSecurityEvent } from './events.ts';
import { revokeSessions } from './sessions.ts';
import { checkTotpCode, confirmTotpEnrollment, confirmedTotp, startTotpEnrollment } from './totp.ts';

export type MfaDeps = AccountsDeps;

/** ASVS 2.2.1 for second factors: wrong or replayed codes per account per rolling hour. */
export const MFA_MAX_FAILURES_PER_HOUR = 10;
const HOUR_MS = 3_600_000;

type SessionRef = Pick<Session, 'sessionId' | 'userId' | 'mfaVerifiedAt'>;
type Client = { ip: string };

export interface SecondFactors {
  totpEnabledAt: number | null;
  backupCodes: { remaining: number; generatedAt: number | null };
  /** The user's own choice, if any. */
  chosenDefault: SecondFactorMethod | null;
}

export async function loadSecondFactors(deps: Pick<MfaDeps, 'db'>, userId: string): Promise<SecondFactors> {
  const [totp, backupCodes, user] = await Promise.all([
    confirmedTotp(deps.db, userId),
    backupCodeSummary(deps.db, userId),
    deps.db.selectFrom('users').select(['mfa_default_method']).where('id', '=', userId).executeTakeFirst(),
  ]);
  return {
    totpEnabledAt: totp?.confirmed_at ?? null,
    backupCodes,
    chosenDefault: user?.mfa_default_method ?? null,
  };
}

/** What a sign-in challenge offers, strongest first. Email only for accounts without an authenticator. */
export function challengeMethods(factors: SecondFactors): SecondFactorMethod[] {
  if (factors.totpEnabledAt === null) return ['email'];
  return factors.backupCodes.remaining > 0 ? ['totp', 'backup_code'] : ['totp'];
}

/** The user's choice when it is on offer, otherwise the strongest method offered. */
export function defaultMethodOf(factors: SecondFactors, methods: readonly SecondFactorMethod[]): SecondFactorMethod {
  if (factors.chosenDefault !== null && methods.includes(factors.chosenDefault)) return factors.chosenDefault;
  return [...methods].sort((a, b) => secondFactorMethods.indexOf(a) - secondFactorMethods.indexOf(b))[0] ?? 'email';
}

/** What signing in asks of this user: always a second factor with an authenticator, otherwise only when risky. */
export async function signInSecondFactor(deps: Pick<MfaDeps, 'db'>, userId: string) {
  const factors = await loadSecondFactors(deps, userId);
  const methods = challengeMethods(factors);
  return { alwaysRequired: factors.totpEnabledAt !== null, methods, defaultMethod: defaultMethodOf(factors, methods) };
}

export interface FactorContext {
  purpose: 'sign_in' | 'step_up';
  /** The methods this check may accept (what the challenge offered). */
  allowed: readonly SecondFactorMethod[];
  ip: string | null;
  deviceLabel: string | null;
  sessionId: string | null;
}

export type SecondFactorOutcome =
  | { ok: true; detail: { method: SecondFactorMethod; backupCodesRemaining?: number } }
  | { ok: false; detail: { method: SecondFactorMethod; reason: 'wrong_code' | 'replayed' | 'not_offered' } };

async function enforceFailureLimit(deps: MfaDeps, userId: string, context: FactorContext, now: number) {
  const failures = await deps.db
    .selectFrom('security_events')
    .select(['at'])
    .where('user_id', '=', userId)
    .where('kind', 'in', ['mfa_failed', 'totp_replay_rejected'])
    .where('at', '>', now - HOUR_MS)
    .orderBy('at', 'asc')
    .execute();
  if (failures.length < MFA_MAX_FAILURES_PER_HOUR) return;
  const retryAfterSeconds = Math.max(1, Math.ceil((failures[0]!.at + HOUR_MS - now) / 1000));
  await recordSecurityEvent(deps.db, {
    userId,
    kind: 'rate_limited',
    ip: context.ip,
    deviceLabel: context.deviceLabel,
    sessionId: context.sessionId,
    at: now,
    detail: { scope: 'second_factor', failuresLastHour: failures.length },
  });
  throw new AppError('RATE_LIMITED', {
    message: `Too many wrong codes. Try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`,
    details: { retryAfterSeconds },
  });
}

/** Security mail to the account's owner; a mail that cannot be sent is logged, never fails the request. */
async function notifyOwner(deps: MfaDeps, userId: string, subject: string, body: string): Promise<void> {
  const user = await deps.db
    .selectFrom('users')
    .select(['email', 'display_name'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (user === undefined) return;
  try {
    await deps.mailer.send({ to: user.email, subject, text: `Hi ${user.display_name},\n\n${body}\n\n— MegiLance` });
  } catch (error) {
    deps.logger.warn({ err: error, userId, subject }, 'security notification mail not sent');
  }
}

/**
 * The one second-factor check. Records mfa_used / mfa_failed /
 * totp_replay_rejected (and mails the owner about a replayed code); throws
 * RATE_LIMITED past the account's hourly limit.
 */
export async function verifySecondFactor(
  deps: MfaDeps,
  userId: string,
  proof: { method: SecondFactorMethod; code: string },
  context: FactorContext,
): Promise<SecondFactorOutcome> {
  const now = (deps.now ?? Date.now)();
  await enforceFailureLimit(deps, userId, context, now);
  const { method } = proof;
  const event = {
    userId,
    ip: context.ip,
    deviceLabel: context.deviceLabel,
    sessionId: context.sessionId,
    at: now,
  };
  const fail = async (reason: 'wrong_code' | 'not_offered'): Promise<SecondFactorOutcome> => {
    await recordSecurityEvent(deps.db, { ...event, kind: 'mfa_failed', detail: { method, purpose: context.purpose } });
    return { ok: false, detail: { method, reason } };
  };
  if (!context.allowed.includes(method)) return fail('not_offered');

  let backupCodesRemaining: number | undefined;
  switch (method) {
    case 'email':
      if (!(await consumeEmailCode(deps, userId, context.purpose === 'step_up' ? 'step_up' : 'sign_in', proof.code))) {
        return fail('wrong_code');
      }
      break;
    case 'backup_code': {
      const spent = await consumeBackupCode(deps.db, userId, proof.code, now);
      if (!spent.ok) return fail('wrong_code');
      backupCodesRemaining = spent.remaining;
      break;
    }
    case 'totp': {
      const check = await checkTotpCode(deps.db, userId, proof.code, now);
      if (check.kind === 'wrong' || check.kind === 'not_enrolled') return fail('wrong_code');
      if (check.kind === 'replayed') {
        await recordSecurityEvent(deps.db, {
          ...event,
          kind: 'totp_replay_rejected',
          detail: { purpose: context.purpose, step: check.step },
        });
        const where = [context.deviceLabel, context.ip].filter((part) => part !== null).join(', ');
        await notifyOwner(
          deps,
          userId,
          'Someone used an old MegiLance sign-in code',
          `A code from your authenticator app that had already been used was entered again${where === '' ? '' : ` (${where})`}, so we refused it.\n\nIf you just entered the same code twice, there is nothing to do. If not, someone may have seen one of your codes and may know your password: change your password and check your signed-in devices on the Security page.`,
        );
        return { ok: false, detail: { method, reason: 'replayed' } };
      }
      break;
    }
  }
  await recordSecurityEvent(deps.db, {
    ...event,
    kind: 'mfa_used',
    detail: {
      method,
      purpose: context.purpose,
      ...(backupCodesRemaining === undefined ? {} : { backupCodesRemaining }),
    },
  });
  return { ok: true, detail: backupCodesRemaining === undefined ? { method } : { method, backupCodesRemaining } };
}

/** The user-facing refusal for a failed check, on the form's `code` field. */
export function secondFactorRefused(outcome: Extract<SecondFactorOutcome, { ok: false }>): AppError {
  const { method, reason } = outcome.detail;
  const message =
    reason === 'replayed'
      ? 'That code was already used. Wait for the next code in your authenticator app.'
      : reason === 'not_offered'
        ? method === 'email'
          ? 'This account uses an authenticator app: enter its code, or one of your backup codes.'
          : 'That method is not set up for this account.'
        : {
            totp: 'That code is not right. Enter the current code from your authenticator app.',
            backup_code: 'That backup code is not right, or it was already used.',
            email: 'That code is not right or has expired. Check the latest email or ask for a new code.',
          }[method];
  return new AppError('VALIDATION_FAILED', {
    message,
    fieldErrors: { code: [message] },
    details: { reason },
  });
}

function isStepUpFresh(deps: MfaDeps, session: SessionRef, now: number): boolean {
  return session.mfaVerifiedAt !== null && now - session.mfaVerifiedAt <= deps.config.stepUpWindowMs;
}

/**
 * Starts setting up an authenticator app (always the first factor: one that
 * is already set up must be removed first, which needs step-up).
 */
export async function beginTotp(
  deps: MfaDeps,
  session: SessionRef,
  input: { currentPassword?: string | undefined },
): Promise<TotpEnrollment> {
  const now = (deps.now ?? Date.now)();
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'password_hash'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  if (!isStepUpFresh(deps, session, now)) {
    if (user.password_hash === null) throw new AppError('STEP_UP_REQUIRED');
    const message =
      input.currentPassword === undefined ? 'Enter your password to continue.' : 'That password is not right.';
    if (
      input.currentPassword === undefined ||
      !(await recheckPassword(deps, session, user.password_hash, input.currentPassword, { ip: null }))
    ) {
      throw new AppError('VALIDATION_FAILED', { message, fieldErrors: { currentPassword: [message] } });
    }
  }
  return startTotpEnrollment(deps.db, user, now);
}

/** Turns the authenticator on; the first time, also makes the backup codes (shown only in this answer). */
export async function confirmTotp(
  deps: MfaDeps,
  session: SessionRef,
  code: string,
  client: Client,
): Promise<{ enabled: true; backupCodes: IssuedBackupCodes | null }> {
  const now = (deps.now ?? Date.now)();
  await confirmTotpEnrollment(deps.db, session.userId, code, now);
  const event = { userId: session.userId, ip: client.ip, sessionId: session.sessionId, at: now };
  await recordSecurityEvent(deps.db, { ...event, kind: 'mfa_added', detail: { method: 'totp' } });
  let backupCodes: IssuedBackupCodes | null = null;
  if ((await backupCodeSummary(deps.db, session.userId)).remaining === 0) {
    backupCodes = await issueBackupCodes(deps.db, session.userId, now);
    await recordSecurityEvent(deps.db, {
      ...event,
      kind: 'mfa_added',
      detail: { method: 'backup_code', count: backupCodes.codes.length },
    });
  }
  await notifyOwner(
    deps,
    session.userId,
    'Two-step verification is on for your MegiLance account',
    'An authenticator app was set up for your account. From now on, signing in asks for a code from it (or one of your backup codes).\n\nIf this was not you, reset your password now and contact support.',
  );
  return { enabled: true, backupCodes };
}

/** Removes the authenticator and its backup codes (step-up). */
export async function removeTotp(deps: MfaDeps, session: SessionRef, client: Client): Promise<{ removed: true }> {
  const now = (deps.now ?? Date.now)();
  const removed = await removeSecondFactors(deps, session.userId);
  if (!removed.totp) throw new AppError('PRECONDITION_FAILED', { message: 'No authenticator app is set up.' });
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'mfa_removed',
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
    detail: { method: 'totp', backupCodesRemoved: removed.backupCodes },
  });
  await notifyOwner(
    deps,
    session.userId,
    'Two-step verification was turned off for your MegiLance account',
    'The authenticator app and backup codes were removed from your account. Signing in no longer asks for them.\n\nIf this was not you, reset your password now and contact support.',
  );
  return { removed: true };
}

async function removeSecondFactors(deps: MfaDeps, userId: string) {
  return deps.db.transaction().execute(async (tx) => {
    const totp = await tx.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
    const backupCodes = await deleteBackupCodes(tx, userId);
    await tx.updateTable('users').set({ mfa_default_method: null }).where('id', '=', userId).execute();
    return { totp: totp.numDeletedRows > 0n, backupCodes };
  });
}

/** A new batch of backup codes; the old ones stop working (step-up). */
export async function regenerateBackupCodes(
  deps: MfaDeps,
  session: SessionRef,
  client: Client,
): Promise<IssuedBackupCodes> {
  const now = (deps.now ?? Date.now)();
  if ((await confirmedTotp(deps.db, session.userId)) === undefined) {
    throw new AppError('PRECONDITION_FAILED', {
      message: 'Backup codes come with an authenticator app: set one up first.',
    });
  }
  const replaced = (await backupCodeSummary(deps.db, session.userId)).remaining;
  const issued = await issueBackupCodes(deps.db, session.userId, now);
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'mfa_added',
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
    detail: { method: 'backup_code', count: issued.codes.length, unusedCodesReplaced: replaced },
  });
  await notifyOwner(
    deps,
    session.userId,
    'New MegiLance backup codes were made',
    'A new set of backup codes was made for your account; the old ones no longer work.\n\nIf this was not you, reset your password now and contact support.',
  );
  return issued;
}

/** The method a sign-in offers first (step-up). Only a method the user has can be chosen. */
export async function setDefaultMethod(
  deps: MfaDeps,
  session: SessionRef,
  method: SecondFactorMethod,
): Promise<{ defaultMethod: SecondFactorMethod }> {
  const methods = challengeMethods(await loadSecondFactors(deps, session.userId));
  if (!methods.includes(method)) {
    throw new AppError('PRECONDITION_FAILED', { message: 'Choose a method that is set up for your account.' });
  }
  await deps.db
    .updateTable('users')
    .set({ mfa_default_method: method, updated_at: (deps.now ?? Date.now)() })
    .where('id', '=', session.userId)
    .execute();
  return { defaultMethod: method };
}

/** Mails a step-up code, for accounts whose second factor is their email (no authenticator app). */
export async function sendStepUpCode(deps: MfaDeps, session: SessionRef): Promise<{ status: 'sent' }> {
  if (!challengeMethods(await loadSecondFactors(deps, session.userId)).includes('email')) {
    throw new AppError('PRECONDITION_FAILED', {
      message: 'Confirm with your authenticator app (or a backup code) instead.',
    });
  }
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'display_name'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  await issueEmailCode(deps, user, 'step_up');
  return { status: 'sent' };
}

/** Proves a second factor inside a session, making it fresh for step-up procedures. */
export async function stepUp(
  deps: MfaDeps,
  session: SessionRef,
  proof: { method: SecondFactorMethod; code: string },
  client: Client,
): Promise<{ verifiedAt: Date; windowMinutes: number; backupCodesRemaining?: number }> {
  // The same factors as at sign-in: the app (and backup codes) when enrolled, otherwise a mailed code.
  const allowed = challengeMethods(await loadSecondFactors(deps, session.userId));
  const outcome = await verifySecondFactor(deps, session.userId, proof, {
    purpose: 'step_up',
    allowed,
    ip: client.ip,
    deviceLabel: null,
    sessionId: session.sessionId,
  });
  if (!outcome.ok) throw secondFactorRefused(outcome);
  const now = (deps.now ?? Date.now)();
  await deps.db
    .updateTable('sessions')
    .set({ mfa_verified_at: now })
    .where('id', '=', session.sessionId)
    .where('user_id', '=', session.userId)
    .execute();
  const answer = { verifiedAt: new Date(now), windowMinutes: Math.round(deps.config.stepUpWindowMs / 60_000) };
  const remaining = outcome.detail.backupCodesRemaining;
  return remaining === undefined ? answer : { ...answer, backupCodesRemaining: remaining };
}

export async function mfaStatus(deps: MfaDeps, session: SessionRef): Promise<MfaStatus> {
  const factors = await loadSecondFactors(deps, session.userId);
  const methods = challengeMethods(factors);
  return {
    totp: {
      enabled: factors.totpEnabledAt !== null,
      enabledAt: factors.totpEnabledAt === null ? null : new Date(factors.totpEnabledAt),
    },
    backupCodes: {
      remaining: factors.backupCodes.remaining,
      generatedAt: factors.backupCodes.generatedAt === null ? null : new Date(factors.backupCodes.generatedAt),
    },
    methods,
    defaultMethod: defaultMethodOf(factors, methods),
    requiredAtEverySignIn: factors.totpEnabledAt !== null,
    sessionVerifiedAt: session.mfaVerifiedAt === null ? null : new Date(session.mfaVerifiedAt),
    stepUpWindowMinutes: Math.round(deps.config.stepUpWindowMs / 60_000),
  };
}

/**
 * The admin recovery path for a user who lost their authenticator and their
 * backup codes (see server/security/README.md for the identity checks that
 * must come first). Removes every second factor and, as a password reset
 * does, ends every session; the owner is told by mail.
 */
export async function adminResetSecondFactors(
  deps: MfaDeps,
  userId: string,
  actor: { by: string; reason: string; ip: string },
): Promise<{ totpRemoved: boolean; backupCodesRemoved: number; sessionsEnded: number }> {
  const now = (deps.now ?? Date.now)();
  const removed = await removeSecondFactors(deps, userId);
  const sessionsEnded = await revokeSessions(deps.db, userId, { all: true }, 'mfa_reset_by_admin', {
    ip: actor.ip,
    sessionId: null,
  });
  await recordSecurityEvent(deps.db, {
    userId,
    kind: 'mfa_removed',
    ip: actor.ip,
    at: now,
    detail: { method: 'totp', by: actor.by, reason: actor.reason, backupCodesRemoved: removed.backupCodes },
  });
  await notifyOwner(
    deps,
    userId,
    'Two-step verification was reset for your MegiLance account',
    'At your request, MegiLance support removed the authenticator app and backup codes from your account and signed out every device. Sign in with your password and set up two-step verification again.\n\nIf you did not ask for this, reset your password now and contact support.',
  );
  return { totpRemoved: removed.totp, backupCodesRemoved: removed.backupCodes, sessionsEnded: sessionsEnded.length };
}
