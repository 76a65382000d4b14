/**
 * Two-step verification: which second factors a user has, the one check that
 * sign-in and step-up both use (`verifySecondFactor`), and setting factors up
 * and taking them away. Decisions (see server/security/README.md):
 *
 * - The enrolled factors are an authenticator app (TOTP), a verified phone
 *   for SMS codes, and WebAuthn credentials (passkeys and security keys).
 *   With any of them, every sign-in asks for one, and email codes are no
 *   longer a second factor: a mailbox is "something you know" again (its
 *   password), so accepting it would make the account only as strong as the
 *   mailbox (Auth0 calls email "not true MFA"; GitHub never falls back to
 *   email for 2FA accounts). The fallback is a backup code; past that, the
 *   admin reset (`adminResetSecondFactors`). Without any, risky sign-ins are
 *   still challenged by email. If the server stops being able to send texts,
 *   an SMS-only account falls back to email codes rather than lock its owner out.
 * - Setting up the first factor needs the password again (GitHub's sudo
 *   mode), or a second factor proved within the step-up window. A stolen
 *   access token alone cannot lock the owner out with an attacker's app.
 *   Adding a further factor needs step-up, like removing one.
 * - Changing factors (remove, new backup codes, default method) needs
 *   step-up: a second factor within STEP_UP_WINDOW_MINUTES (`mfa.stepUp`).
 * - Wrong second factors are limited per account (MFA_MAX_FAILURES_PER_HOUR),
 *   across challenges and sessions, on top of each challenge's own limit.
 */
import { AppError } from '../../shared/errors.ts';
import {
  secondFactorMethods,
  type CodeMethod,
  type DefaultableMethod,
  type IssuedBackupCodes,
  type MfaStatus,
  type SecondFactorMethod,
  type TotpEnrollment,
} from '../../shared/mfa.ts';
import type { Session } from '../context.ts';
import { maskPhoneNumber, normalizePhoneNumber } from '../delivery/sms.ts';
import {
  consumeOneTimeCode,
  issueEmailCode,
  issueSmsCode,
  recheckPassword,
  SMS_CODE_TTL_MS,
  type AccountsDeps,
} from './accounts.ts';
import { backupCodeSummary, consumeBackupCode, deleteBackupCodes, issueBackupCodes } from './backup-codes.ts';
import { recordSecurityEvent } from './events.ts';
import { revokeSessions } from './sessions.ts';
import type { PasskeyTables } from './passkeys.ts';
import { checkTotpCode, confirmTotpEnrollment, confirmedTotp, startTotpEnrollment, totpAlreadySetUp } from './totp.ts';

export type MfaDeps = AccountsDeps;

/** ASVS 2.2.1 for second factors: wrong or replayed codes per account per rolling hour. */
export const MFA_MAX_FAILURES_PER_HOUR = 10;
const HOUR_MS = 3_600_000;

type SessionRef = Pick<Session, 'sessionId' | 'userId' | 'mfaVerifiedAt'>;
type Client = { ip: string };

export interface SecondFactors {
  totpEnabledAt: number | null;
  /** A verified phone (E.164). */
  phone: { number: string; confirmedAt: number } | null;
  /** Whether texts can be sent at all (Twilio or the dev outbox). */
  smsAvailable: boolean;
  /** WebAuthn credentials: passkeys and security keys. */
  passkeyCount: number;
  backupCodes: { remaining: number; generatedAt: number | null };
  /** The user's own choice, if any. */
  chosenDefault: SecondFactorMethod | null;
}

export async function confirmedPhone(deps: Pick<MfaDeps, 'db'>, userId: string) {
  return deps.db
    .selectFrom('mfa_phone')
    .selectAll()
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .executeTakeFirst();
}

export async function loadSecondFactors(deps: Pick<MfaDeps, 'db' | 'sms'>, userId: string): Promise<SecondFactors> {
  const [totp, phone, passkeys, backupCodes, user] = await Promise.all([
    confirmedTotp(deps.db, userId),
    confirmedPhone(deps, userId),
    deps.db
      .withTables<PasskeyTables>()
      .selectFrom('webauthn_credentials')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow(),
    backupCodeSummary(deps.db, userId),
    deps.db.selectFrom('users').select(['mfa_default_method']).where('id', '=', userId).executeTakeFirst(),
  ]);
  return {
    totpEnabledAt: totp?.confirmed_at ?? null,
    phone: phone === undefined ? null : { number: phone.number, confirmedAt: phone.confirmed_at! },
    smsAvailable: deps.sms.availability().available,
    passkeyCount: Number(passkeys.count),
    backupCodes,
    chosenDefault: user?.mfa_default_method ?? null,
  };
}

/** An app, a phone or a WebAuthn credential: then every sign-in asks for a second factor. */
export function hasEnrolledFactor(factors: SecondFactors): boolean {
  return factors.totpEnabledAt !== null || factors.phone !== null || factors.passkeyCount > 0;
}

/**
 * What a sign-in challenge offers, strongest first: the enrolled factors that
 * work now, plus backup codes. Email only for accounts with none of them.
 */
export function challengeMethods(factors: SecondFactors): SecondFactorMethod[] {
  const methods: SecondFactorMethod[] = [];
  if (factors.passkeyCount > 0) methods.push('passkey');
  if (factors.totpEnabledAt !== null) methods.push('totp');
  if (factors.phone !== null && factors.smsAvailable) methods.push('sms');
  if (methods.length === 0) methods.push('email');
  if (factors.backupCodes.remaining > 0) methods.push('backup_code');
  return methods;
}

/** The user's choice when it is on offer, otherwise the strongest method offered. */
export function defaultMethodOf(factors: SecondFactors, methods: readonly SecondFactorMethod[]): SecondFactorMethod {
  if (factors.chosenDefault !== null && methods.includes(factors.chosenDefault)) return factors.chosenDefault;
  return [...methods].sort((a, b) => secondFactorMethods.indexOf(a) - secondFactorMethods.indexOf(b))[0] ?? 'email';
}

/** What signing in asks of this user: always a second factor with an authenticator, otherwise only when risky. */
export async function signInSecondFactor(deps: Pick<MfaDeps, 'db' | 'sms'>, userId: string) {
  const factors = await loadSecondFactors(deps, userId);
  const methods = challengeMethods(factors);
  return {
    alwaysRequired: hasEnrolledFactor(factors),
    methods,
    defaultMethod: defaultMethodOf(factors, methods),
    phone: factors.phone,
  };
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

/** Throws RATE_LIMITED past the account's hourly limit of wrong second factors (any method). */
export async function enforceFailureLimit(deps: MfaDeps, userId: string, context: FactorContext, now: number) {
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
  proof: { method: CodeMethod; code: string },
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
      if (
        !(await consumeOneTimeCode(deps, userId, context.purpose === 'step_up' ? 'step_up' : 'sign_in', proof.code))
      ) {
        return fail('wrong_code');
      }
      break;
    case 'sms':
      if (
        !(await consumeOneTimeCode(
          deps,
          userId,
          context.purpose === 'step_up' ? 'sms_step_up' : 'sms_sign_in',
          proof.code,
        ))
      ) {
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
      const check = await checkTotpCode(deps.db, deps.secretBox, userId, proof.code, now);
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
          ? 'This account uses two-step verification: use one of its methods, or one of your backup codes.'
          : 'That method is not set up for this account.'
        : {
            passkey: 'That passkey or security key did not work. Try again.',
            totp: 'That code is not right. Enter the current code from your authenticator app.',
            sms: 'That code is not right or has expired. Check the latest text message or ask for a new code.',
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
 * The proof that setting up a factor needs: with a factor already set up, a
 * fresh second factor (step-up); for the first one, the password again,
 * unless the session proved a second factor within the window.
 */
async function requireSetUpProof(
  deps: MfaDeps,
  session: SessionRef,
  currentPassword: string | undefined,
  now: number,
): Promise<void> {
  if (isStepUpFresh(deps, session, now)) return;
  if (hasEnrolledFactor(await loadSecondFactors(deps, session.userId))) {
    throw new AppError('STEP_UP_REQUIRED', {
      details: { windowMinutes: Math.round(deps.config.stepUpWindowMs / 60_000) },
    });
  }
  const user = await deps.db
    .selectFrom('users')
    .select(['password_hash'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  if (user.password_hash === null) throw new AppError('STEP_UP_REQUIRED');
  const message = currentPassword === undefined ? 'Enter your password to continue.' : 'That password is not right.';
  if (
    currentPassword === undefined ||
    !(await recheckPassword(deps, session, user.password_hash, currentPassword, { ip: null }))
  ) {
    throw new AppError('VALIDATION_FAILED', { message, fieldErrors: { currentPassword: [message] } });
  }
}

/** The first factor brings backup codes (shown only in this answer); later ones keep the existing batch. */
async function issueFirstBackupCodes(
  deps: MfaDeps,
  session: SessionRef,
  client: Client,
  now: number,
): Promise<IssuedBackupCodes | null> {
  if ((await backupCodeSummary(deps.db, session.userId)).remaining > 0) return null;
  const backupCodes = await issueBackupCodes(deps.db, session.userId, now);
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
    kind: 'mfa_added',
    detail: { method: 'backup_code', count: backupCodes.codes.length },
  });
  return backupCodes;
}

/**
 * After a factor went: with none left, backup codes go too (they are the
 * fallback of factors, not a factor of their own). Returns how many went.
 */
async function dropBackupCodesIfNoFactorLeft(deps: MfaDeps, userId: string): Promise<number> {
  if (hasEnrolledFactor(await loadSecondFactors(deps, userId))) return 0;
  return deps.db.transaction().execute(async (tx) => {
    const removed = await deleteBackupCodes(tx, userId);
    await tx.updateTable('users').set({ mfa_default_method: null }).where('id', '=', userId).execute();
    return removed;
  });
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
  // Said before asking for proof: proving a factor only to learn this would waste the user's time.
  if ((await confirmedTotp(deps.db, session.userId)) !== undefined) throw totpAlreadySetUp();
  await requireSetUpProof(deps, session, input.currentPassword, now);
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  return startTotpEnrollment(deps.db, deps.secretBox, user, now);
}

/** Turns the authenticator on; the first factor also brings the backup codes (shown only in this answer). */
export async function confirmTotp(
  deps: MfaDeps,
  session: SessionRef,
  code: string,
  client: Client,
): Promise<{ enabled: true; backupCodes: IssuedBackupCodes | null }> {
  const now = (deps.now ?? Date.now)();
  await confirmTotpEnrollment(deps.db, deps.secretBox, session.userId, code, now);
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
    kind: 'mfa_added',
    detail: { method: 'totp' },
  });
  const backupCodes = await issueFirstBackupCodes(deps, session, client, now);
  await notifyOwner(
    deps,
    session.userId,
    backupCodes === null
      ? 'An authenticator app was added to your MegiLance account'
      : 'Two-step verification is on for your MegiLance account',
    'An authenticator app was set up for your account. From now on, signing in asks for a second step (a code from it, another method you set up, or one of your backup codes).\n\nIf this was not you, reset your password now and contact support.',
  );
  return { enabled: true, backupCodes };
}

/** Tells the owner a factor went, and whether sign-ins still ask for a second step. */
async function notifyFactorRemoved(deps: MfaDeps, userId: string, what: string, backupCodesRemoved: number) {
  const stillOn = backupCodesRemoved === 0 && hasEnrolledFactor(await loadSecondFactors(deps, userId));
  await notifyOwner(
    deps,
    userId,
    stillOn
      ? `${what} was removed from your MegiLance account`
      : 'Two-step verification was turned off for your MegiLance account',
    `${what} was removed from your account.${stillOn ? ' Signing in still asks for one of your other methods.' : ' It was your last second step, so your backup codes were removed too and signing in no longer asks for a second step.'}\n\nIf this was not you, reset your password now and contact support.`,
  );
}

/** Removes the authenticator (step-up); the backup codes go too when it was the last factor. */
export async function removeTotp(deps: MfaDeps, session: SessionRef, client: Client): Promise<{ removed: true }> {
  const now = (deps.now ?? Date.now)();
  const removed = await deps.db.deleteFrom('mfa_totp').where('user_id', '=', session.userId).executeTakeFirst();
  if (removed.numDeletedRows === 0n) {
    throw new AppError('PRECONDITION_FAILED', { message: 'No authenticator app is set up.' });
  }
  const backupCodesRemoved = await dropBackupCodesIfNoFactorLeft(deps, session.userId);
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'mfa_removed',
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
    detail: { method: 'totp', backupCodesRemoved },
  });
  await notifyFactorRemoved(deps, session.userId, 'The authenticator app', backupCodesRemoved);
  return { removed: true };
}

/**
 * Starts adding a phone for SMS codes: texts a code to it. The first factor
 * needs the password again; with others set up, step-up. One number per
 * account: a verified one must be removed before another is added.
 */
export async function beginSms(
  deps: MfaDeps,
  session: SessionRef,
  input: { phone: string; currentPassword?: string | undefined },
): Promise<{ status: 'sent'; number: string; expiresInMinutes: number }> {
  const now = (deps.now ?? Date.now)();
  if (!deps.sms.availability().available) {
    throw new AppError('FEATURE_UNAVAILABLE', {
      message: 'Text messages are not set up on this server, so SMS codes cannot be used. Choose another method.',
      details: { channel: 'sms' },
    });
  }
  const number = normalizePhoneNumber(input.phone, 'phone');
  if ((await confirmedPhone(deps, session.userId)) !== undefined) {
    throw new AppError('PRECONDITION_FAILED', {
      message: 'A phone number is already set up. Remove it first to use a different one.',
    });
  }
  await requireSetUpProof(deps, session, input.currentPassword, now);
  await deps.db
    .insertInto('mfa_phone')
    .values({ user_id: session.userId, number, created_at: now, confirmed_at: null })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({ number, created_at: now }).where('mfa_phone.confirmed_at', 'is', null),
    )
    .execute();
  await issueSmsCode(deps, session.userId, number, 'sms_enroll');
  return { status: 'sent', number: maskPhoneNumber(number), expiresInMinutes: SMS_CODE_TTL_MS / 60_000 };
}

/** Verifies the number with the texted code; the first factor also brings the backup codes. */
export async function confirmSms(
  deps: MfaDeps,
  session: SessionRef,
  code: string,
  client: Client,
): Promise<{ enabled: true; number: string; backupCodes: IssuedBackupCodes | null }> {
  const now = (deps.now ?? Date.now)();
  const pending = await deps.db
    .selectFrom('mfa_phone')
    .selectAll()
    .where('user_id', '=', session.userId)
    .executeTakeFirst();
  if (pending === undefined || pending.confirmed_at !== null) {
    throw new AppError('PRECONDITION_FAILED', { message: 'Enter your phone number first: we will text it a code.' });
  }
  if (!(await consumeOneTimeCode(deps, session.userId, 'sms_enroll', code))) {
    const message = 'That code is not right or has expired. Check the latest text message or ask for a new code.';
    throw new AppError('VALIDATION_FAILED', { message, fieldErrors: { code: [message] } });
  }
  await deps.db
    .updateTable('mfa_phone')
    .set({ confirmed_at: now })
    .where('user_id', '=', session.userId)
    .where('confirmed_at', 'is', null)
    .execute();
  const masked = maskPhoneNumber(pending.number);
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
    kind: 'mfa_added',
    detail: { method: 'sms', number: masked },
  });
  const backupCodes = await issueFirstBackupCodes(deps, session, client, now);
  await notifyOwner(
    deps,
    session.userId,
    backupCodes === null
      ? 'A phone number was added to your MegiLance account'
      : 'Two-step verification is on for your MegiLance account',
    `The phone number ${masked} can now receive sign-in codes by text message for your account. From now on, signing in asks for a second step.\n\nIf this was not you, reset your password now and contact support.`,
  );
  return { enabled: true, number: masked, backupCodes };
}

/** Removes the phone (step-up); the backup codes go too when it was the last factor. */
export async function removeSms(deps: MfaDeps, session: SessionRef, client: Client): Promise<{ removed: true }> {
  const now = (deps.now ?? Date.now)();
  const phone = await confirmedPhone(deps, session.userId);
  if (phone === undefined) throw new AppError('PRECONDITION_FAILED', { message: 'No phone number is set up.' });
  await deps.db.deleteFrom('mfa_phone').where('user_id', '=', session.userId).execute();
  const backupCodesRemoved = await dropBackupCodesIfNoFactorLeft(deps, session.userId);
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'mfa_removed',
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
    detail: { method: 'sms', number: maskPhoneNumber(phone.number), backupCodesRemoved },
  });
  await notifyFactorRemoved(
    deps,
    session.userId,
    `The phone number ${maskPhoneNumber(phone.number)}`,
    backupCodesRemoved,
  );
  return { removed: true };
}

/**
 * After a passkey or security key was removed (passkeys.ts records the event):
 * drops the backup codes if it was the last factor, and tells the owner.
 */
export async function afterPasskeyRemoved(deps: MfaDeps, userId: string, name: string): Promise<number> {
  const backupCodesRemoved = await dropBackupCodesIfNoFactorLeft(deps, userId);
  await notifyFactorRemoved(deps, userId, `The passkey “${name}”`, backupCodesRemoved);
  return backupCodesRemoved;
}

/** A new batch of backup codes; the old ones stop working (step-up). */
export async function regenerateBackupCodes(
  deps: MfaDeps,
  session: SessionRef,
  client: Client,
): Promise<IssuedBackupCodes> {
  const now = (deps.now ?? Date.now)();
  if (!hasEnrolledFactor(await loadSecondFactors(deps, session.userId))) {
    throw new AppError('PRECONDITION_FAILED', {
      message: 'Backup codes come with two-step verification: set up an authenticator app, a phone or a passkey first.',
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
  method: DefaultableMethod,
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

/**
 * Sends a step-up code: by mail for accounts whose second factor is their
 * email (no enrolled factor), or by text to the verified phone.
 */
export async function sendStepUpCode(
  deps: MfaDeps,
  session: SessionRef,
  channel: 'email' | 'sms' = 'email',
): Promise<{ status: 'sent'; to: string }> {
  const factors = await loadSecondFactors(deps, session.userId);
  if (!challengeMethods(factors).includes(channel)) {
    throw new AppError('PRECONDITION_FAILED', {
      message:
        channel === 'sms'
          ? 'No phone number is set up for text messages. Confirm another way.'
          : 'Confirm with one of your two-step methods (or a backup code) instead.',
    });
  }
  if (channel === 'sms') {
    await issueSmsCode(deps, session.userId, factors.phone!.number, 'sms_step_up');
    return { status: 'sent', to: maskPhoneNumber(factors.phone!.number) };
  }
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'display_name'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  await issueEmailCode(deps, user, 'step_up');
  return { status: 'sent', to: user.email };
}

/** Proves a second factor inside a session, making it fresh for step-up procedures. */
export async function stepUp(
  deps: MfaDeps,
  session: SessionRef,
  proof: { method: CodeMethod; code: string },
  client: Client,
): Promise<{ verifiedAt: Date; windowMinutes: number; backupCodesRemaining?: number }> {
  // The same factors as at sign-in: the enrolled ones (and backup codes), otherwise a mailed code.
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
  const availability = deps.sms.availability();
  return {
    totp: {
      enabled: factors.totpEnabledAt !== null,
      enabledAt: factors.totpEnabledAt === null ? null : new Date(factors.totpEnabledAt),
    },
    sms: {
      available: availability.available,
      provider: availability.available ? availability.provider : null,
      number: factors.phone === null ? null : maskPhoneNumber(factors.phone.number),
      enabledAt: factors.phone === null ? null : new Date(factors.phone.confirmedAt),
    },
    passkeys: { count: factors.passkeyCount },
    backupCodes: {
      remaining: factors.backupCodes.remaining,
      generatedAt: factors.backupCodes.generatedAt === null ? null : new Date(factors.backupCodes.generatedAt),
    },
    methods,
    defaultMethod: defaultMethodOf(factors, methods),
    requiredAtEverySignIn: hasEnrolledFactor(factors),
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
): Promise<{
  totpRemoved: boolean;
  phoneRemoved: boolean;
  passkeysRemoved: number;
  backupCodesRemoved: number;
  sessionsEnded: number;
}> {
  const now = (deps.now ?? Date.now)();
  const removed = await deps.db.transaction().execute(async (tx) => {
    const totp = await tx.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
    const phone = await tx.deleteFrom('mfa_phone').where('user_id', '=', userId).executeTakeFirst();
    const passkeys = await tx
      .withTables<PasskeyTables>()
      .deleteFrom('webauthn_credentials')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    const backupCodes = await deleteBackupCodes(tx, userId);
    await tx.updateTable('users').set({ mfa_default_method: null }).where('id', '=', userId).execute();
    return {
      totpRemoved: totp.numDeletedRows > 0n,
      phoneRemoved: phone.numDeletedRows > 0n,
      passkeysRemoved: Number(passkeys.numDeletedRows),
      backupCodesRemoved: backupCodes,
    };
  });
  const sessionsEnded = await revokeSessions(deps.db, userId, { all: true }, 'mfa_reset_by_admin', {
    ip: actor.ip,
    sessionId: null,
  });
  await recordSecurityEvent(deps.db, {
    userId,
    kind: 'mfa_removed',
    ip: actor.ip,
    at: now,
    detail: { method: 'all', by: actor.by, reason: actor.reason, ...removed },
  });
  await notifyOwner(
    deps,
    userId,
    'Two-step verification was reset for your MegiLance account',
    'At your request, MegiLance support removed every second step from your account (authenticator app, phone number, passkeys and security keys, backup codes) and signed out every device. Sign in with your password and set up two-step verification again.\n\nIf you did not ask for this, reset your password now and contact support.',
  );
  return { ...removed, sessionsEnded: sessionsEnded.length };
}
