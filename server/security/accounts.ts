/**
 * Account rules: sign-up with email verification, sign-in, password change
 * and reset. No answer reveals whether an email has an account: sign-up and
 * reset requests always answer the same, and sign-in failures cost the same
 * time for unknown emails (a dummy argon2 verification) as for wrong passwords.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { SignUpInput } from '../../shared/accounts.ts';
import { AppError } from '../../shared/errors.ts';
import type { SecurityConfig } from '../config.ts';
import type { Database } from '../db/schema.ts';
import type { SmsSender } from '../delivery/sms.ts';
import { recordSecurityEvent } from './events.ts';
import type { PasswordHasher } from './passwords.ts';
import type { SecretBox } from './secret-box.ts';
import { hashSecret, newId, newSixDigitCode, secretsEqual } from './secrets.ts';
import { revokeSessions } from './sessions.ts';

/** Sends account mail; the delivery domain provides SMTP or the dev outbox. */
export interface AccountMailer {
  send(message: { to: string; subject: string; text: string }): Promise<unknown>;
}

export interface AccountsDeps {
  db: Kysely<Database>;
  config: SecurityConfig;
  hasher: PasswordHasher;
  mailer: AccountMailer;
  /** Texts (SMS codes as a second factor); `availability()` says whether this server can send them. */
  sms: SmsSender;
  /** Encrypts secrets the server reads back (authenticator keys) at rest. */
  secretBox: SecretBox;
  logger: Logger;
  now?: () => number;
}

export type EmailCodePurpose = 'verify_email' | 'reset_password' | 'sign_in' | 'step_up';

export const EMAIL_CODE_TTL_MS = 15 * 60_000;
const EMAIL_CODE_MAX_ATTEMPTS = 5;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

const wrongCode = () =>
  new AppError('VALIDATION_FAILED', {
    message: 'That code is not right or has expired.',
    fieldErrors: { code: ['That code is not right or has expired. Check the latest email or ask for a new code.'] },
  });

/** Every one-time code: mailed (`EmailCodePurpose`) or texted (`sms_*`, see phone.ts). */
export type OneTimeCodePurpose = EmailCodePurpose | 'sms_enroll' | 'sms_sign_in' | 'sms_step_up';

export const SMS_CODE_TTL_MS = 10 * 60_000;

/**
 * Makes a six-digit code for a purpose, delivers it, then stores it hashed;
 * it replaces the purpose's earlier code (only the newest is valid). Stored
 * only once delivered, so a send that fails (rate limited, provider down)
 * leaves the code the user already has working.
 */
async function issueOneTimeCode(
  deps: Pick<AccountsDeps, 'db' | 'now'>,
  userId: string,
  purpose: OneTimeCodePurpose,
  ttlMs: number,
  deliver: (code: string) => Promise<void>,
): Promise<void> {
  const code = newSixDigitCode();
  await deliver(code);
  const now = (deps.now ?? Date.now)();
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('email_codes')
      .set({ used_at: now })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute();
    await tx
      .insertInto('email_codes')
      .values({
        id: newId(),
        user_id: userId,
        purpose,
        code_hash: hashSecret(code),
        created_at: now,
        expires_at: now + ttlMs,
        used_at: null,
      })
      .execute();
  });
}

/** Texts a code to a phone (E.164) for one of the `sms_*` purposes. */
export async function issueSmsCode(
  deps: Pick<AccountsDeps, 'db' | 'now' | 'sms'>,
  userId: string,
  number: string,
  purpose: 'sms_enroll' | 'sms_sign_in' | 'sms_step_up',
): Promise<void> {
  const what = { sms_enroll: 'phone confirmation', sms_sign_in: 'sign-in', sms_step_up: 'confirmation' }[purpose];
  await issueOneTimeCode(deps, userId, purpose, SMS_CODE_TTL_MS, async (code) => {
    await deps.sms.send({
      to: number,
      body: `${code} is your MegiLance ${what} code. It expires in ${SMS_CODE_TTL_MS / 60_000} minutes. Never share it: MegiLance will never ask you for it.`,
    });
  });
}

export async function issueEmailCode(
  deps: AccountsDeps,
  user: { id: string; email: string; display_name: string },
  purpose: EmailCodePurpose,
): Promise<void> {
  await issueOneTimeCode(deps, user.id, purpose, EMAIL_CODE_TTL_MS, (code) => mailCode(deps, user, purpose, code));
}

async function mailCode(
  deps: AccountsDeps,
  user: { id: string; email: string; display_name: string },
  purpose: EmailCodePurpose,
  code: string,
): Promise<void> {
  const subjects = {
    verify_email: 'Confirm your email for MegiLance',
    reset_password: 'Reset your MegiLance password',
    sign_in: 'Your MegiLance sign-in code',
    step_up: 'Your MegiLance confirmation code',
  } as const;
  const intros = {
    verify_email: 'Welcome to MegiLance! Enter this code to confirm your email address:',
    reset_password:
      'Someone (hopefully you) asked to reset your MegiLance password. Enter this code to choose a new one:',
    sign_in: 'Enter this code to finish signing in to MegiLance:',
    step_up: 'Enter this code to confirm a sensitive change in MegiLance (security settings, payouts):',
  } as const;
  await deps.mailer.send({
    to: user.email,
    subject: subjects[purpose],
    text: `Hi ${user.display_name},\n\n${intros[purpose]}\n\n    ${code}\n\nThe code expires in 15 minutes. If you did not ask for it, you can ignore this email.\n\n— MegiLance`,
  });
}

/** Checks and consumes the newest code of a purpose; counts wrong guesses against it. */
export async function consumeOneTimeCode(
  deps: Pick<AccountsDeps, 'db' | 'now'>,
  userId: string,
  purpose: OneTimeCodePurpose,
  code: string,
): Promise<boolean> {
  const now = (deps.now ?? Date.now)();
  return deps.db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('email_codes')
      .selectAll()
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (row === undefined || row.expires_at <= now || row.attempts >= EMAIL_CODE_MAX_ATTEMPTS) return false;
    if (!secretsEqual(hashSecret(code), row.code_hash)) {
      await tx
        .updateTable('email_codes')
        .set({ attempts: row.attempts + 1 })
        .where('id', '=', row.id)
        .execute();
      return false;
    }
    const used = await tx
      .updateTable('email_codes')
      .set({ used_at: now })
      .where('id', '=', row.id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return used.numUpdatedRows === 1n;
  });
}

export async function findUserByEmail(db: Kysely<Database>, email: string) {
  return db.selectFrom('users').selectAll().where('email_normalized', '=', normaliseEmail(email)).executeTakeFirst();
}

export async function signUp(
  deps: AccountsDeps,
  input: SignUpInput,
  client: { ip: string },
): Promise<{ status: 'verification_sent'; email: string }> {
  const now = (deps.now ?? Date.now)();
  const existing = await findUserByEmail(deps.db, input.email);
  if (existing !== undefined) {
    // Same answer as a new sign-up; the owner learns of the attempt by email.
    await deps.mailer.send({
      to: existing.email,
      subject: 'Someone tried to create a MegiLance account with your email',
      text: `Hi ${existing.display_name},\n\nSomeone tried to sign up for MegiLance with this email address, which already has an account. If it was you, sign in instead (or reset your password). If not, no action is needed.\n\n— MegiLance`,
    });
    return { status: 'verification_sent', email: existing.email };
  }
  const passwordHash = await deps.hasher.hash(input.password);
  const user = { id: newId(), email: input.email.trim(), display_name: input.displayName };
  await deps.db
    .insertInto('users')
    .values({
      ...user,
      email_normalized: normaliseEmail(input.email),
      password_hash: passwordHash,
      email_verified_at: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await recordSecurityEvent(deps.db, { userId: user.id, kind: 'account_created', ip: client.ip, at: now });
  await issueEmailCode(deps, user, 'verify_email');
  return { status: 'verification_sent', email: user.email };
}

export async function resendVerification(deps: AccountsDeps, email: string): Promise<void> {
  const user = await findUserByEmail(deps.db, email);
  if (user === undefined || user.email_verified_at !== null) return;
  await issueEmailCode(deps, user, 'verify_email');
}

/** Wrong current passwords a signed-in user may enter per rolling hour (re-authentication, ASVS 2.2.1). */
export const MAX_PASSWORD_RECHECK_FAILURES_PER_HOUR = 10;

/**
 * Checks the current password of a signed-in user (password change, setting
 * up two-step verification). Wrong answers are logged and limited, so a
 * stolen session cannot be used to guess the password.
 */
export async function recheckPassword(
  deps: AccountsDeps,
  session: { userId: string; sessionId: string },
  storedHash: string | null,
  password: string,
  client: { ip: string | null },
): Promise<boolean> {
  const now = (deps.now ?? Date.now)();
  const recent = await deps.db
    .selectFrom('security_events')
    .select((eb) => eb.fn.countAll<number>().as('failures'))
    .where('user_id', '=', session.userId)
    .where('kind', '=', 'password_check_failed')
    .where('at', '>', now - 3_600_000)
    .executeTakeFirstOrThrow();
  if (Number(recent.failures) >= MAX_PASSWORD_RECHECK_FAILURES_PER_HOUR) {
    throw new AppError('RATE_LIMITED', {
      message: 'Too many wrong passwords. Wait an hour, or sign out and reset your password.',
      details: { retryAfterSeconds: 3600 },
    });
  }
  if (await deps.hasher.verify(storedHash, password)) return true;
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'password_check_failed',
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
  });
  return false;
}

export async function changePassword(
  deps: AccountsDeps,
  session: { userId: string; sessionId: string },
  input: { currentPassword: string; newPassword: string },
  client: { ip: string },
): Promise<{ otherSessionsSignedOut: number }> {
  const user = await deps.db
    .selectFrom('users')
    .select(['password_hash'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  if (!(await recheckPassword(deps, session, user.password_hash, input.currentPassword, client))) {
    throw new AppError('VALIDATION_FAILED', {
      message: 'Your current password is not right.',
      fieldErrors: { currentPassword: ['Your current password is not right.'] },
    });
  }
  const now = (deps.now ?? Date.now)();
  await deps.db
    .updateTable('users')
    .set({ password_hash: await deps.hasher.hash(input.newPassword), updated_at: now })
    .where('id', '=', session.userId)
    .execute();
  await recordSecurityEvent(deps.db, {
    userId: session.userId,
    kind: 'password_changed',
    ip: client.ip,
    sessionId: session.sessionId,
    at: now,
  });
  // A changed password ends every other sign-in (ASVS 3.3.3).
  const signedOut = await revokeSessions(
    deps.db,
    session.userId,
    { allExcept: session.sessionId },
    'password_changed',
    { ip: client.ip, sessionId: session.sessionId },
  );
  return { otherSessionsSignedOut: signedOut.length };
}

export async function requestPasswordReset(deps: AccountsDeps, email: string, client: { ip: string }): Promise<void> {
  const user = await findUserByEmail(deps.db, email);
  if (user === undefined) return;
  await recordSecurityEvent(deps.db, { userId: user.id, kind: 'password_reset_requested', ip: client.ip });
  await issueEmailCode(deps, user, 'reset_password');
}

export async function resetPassword(
  deps: AccountsDeps,
  input: { email: string; code: string; newPassword: string },
  client: { ip: string },
): Promise<void> {
  const user = await findUserByEmail(deps.db, input.email);
  if (user === undefined || !(await consumeOneTimeCode(deps, user.id, 'reset_password', input.code))) throw wrongCode();
  const now = (deps.now ?? Date.now)();
  await deps.db
    .updateTable('users')
    // Receiving the code proves control of the mailbox, so the address counts as verified.
    .set({
      password_hash: await deps.hasher.hash(input.newPassword),
      email_verified_at: user.email_verified_at ?? now,
      updated_at: now,
    })
    .where('id', '=', user.id)
    .execute();
  await recordSecurityEvent(deps.db, { userId: user.id, kind: 'password_reset', ip: client.ip, at: now });
  await revokeSessions(deps.db, user.id, { all: true }, 'password_reset', { ip: client.ip, sessionId: null });
}
