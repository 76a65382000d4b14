/**
 * Authenticator apps (TOTP, RFC 6238) with the settings every app
 * understands: SHA-1, 6 digits, 30-second steps, and one step of drift
 * either way. Each time step's code is accepted once: the step of the last
 * accepted code is stored and only later steps pass (ASVS 2.8.4), moved
 * forward by a compare-and-swap so two racing uses of one code cannot both
 * succeed. Codes come from otplib 13 (async API); QR codes from `qrcode`.
 */
import type { Kysely } from 'kysely';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { AppError } from '../../shared/errors.ts';
import type { TotpEnrollment } from '../../shared/mfa.ts';
import type { Database } from '../db/schema.ts';
import type { SecretBox } from './secret-box.ts';

export const TOTP_ISSUER = 'MegiLance';
export const TOTP_PERIOD_SECONDS = 30;
const TOTP_DIGITS = 6;
/** A code from the step before or after the server's still counts (clock drift, typing time). */
const TOTP_WINDOW_STEPS = 1;
/** 160-bit keys, as RFC 4226 recommends. */
const TOTP_SECRET_BYTES = 20;
/** A set-up not confirmed within this time has to start again (a fresh secret and QR code). */
export const TOTP_ENROLLMENT_TTL_MS = 30 * 60_000;

const otpSettings = { algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS } as const;

/** The otpauth:// URI an app scans: issuer MegiLance, labelled with the user's email. */
export function totpUri(secret: string, accountEmail: string): string {
  return generateURI({ ...otpSettings, issuer: TOTP_ISSUER, label: accountEmail, secret });
}

export async function totpQrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The time step a code belongs to when it is right within the window, otherwise null. */
export async function matchTotpCode(secret: string, code: string, nowMs: number): Promise<number | null> {
  // otplib throws on malformed tokens; a malformed code is simply a wrong one.
  if (!/^\d{6}$/.test(code)) return null;
  const result = await verify({
    ...otpSettings,
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: TOTP_WINDOW_STEPS * TOTP_PERIOD_SECONDS,
  });
  // The result type also covers HOTP, which has no time step; a TOTP match always carries one.
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

export async function confirmedTotp(db: Kysely<Database>, userId: string) {
  return db
    .selectFrom('mfa_totp')
    .select(['confirmed_at', 'last_used_step', 'secret'])
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .executeTakeFirst();
}

/**
 * Starts (or restarts) setting up an authenticator: a new secret, waiting for
 * its first code. Refused while an authenticator is already confirmed, so a
 * half-finished set-up never replaces a working one.
 */
export const totpAlreadySetUp = () =>
  new AppError('PRECONDITION_FAILED', {
    message: 'An authenticator app is already set up. Remove it first to set up a different one.',
  });

export async function startTotpEnrollment(
  db: Kysely<Database>,
  box: SecretBox,
  user: { id: string; email: string },
  now: number,
): Promise<TotpEnrollment> {
  const plain = generateSecret({ length: TOTP_SECRET_BYTES });
  // Stored sealed (secret-box.ts), bound to the user: the database alone does not give working codes.
  const secret = box.seal(plain, user.id);
  const written = await db
    .insertInto('mfa_totp')
    .values({ user_id: user.id, secret, created_at: now, confirmed_at: null, last_used_step: null })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet({ secret, created_at: now, last_used_step: null })
        .where('mfa_totp.confirmed_at', 'is', null),
    )
    .executeTakeFirst();
  if (written.numInsertedOrUpdatedRows !== 1n) throw totpAlreadySetUp();
  const otpauthUri = totpUri(plain, user.email);
  return { otpauthUri, qrSvg: await totpQrSvg(otpauthUri), secret: plain };
}

const wrongCode = (message: string) => new AppError('VALIDATION_FAILED', { message, fieldErrors: { code: [message] } });

/**
 * Turns a pending set-up on with a code from the app. The code's step
 * becomes the last used one, so the confirmation code cannot sign in too.
 */
export async function confirmTotpEnrollment(
  db: Kysely<Database>,
  box: SecretBox,
  userId: string,
  code: string,
  now: number,
): Promise<void> {
  const pending = await db
    .selectFrom('mfa_totp')
    .select(['secret', 'created_at'])
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is', null)
    .executeTakeFirst();
  if (pending === undefined || now - pending.created_at > TOTP_ENROLLMENT_TTL_MS) {
    throw new AppError('PRECONDITION_FAILED', {
      message: 'This set-up has expired or was not started. Start setting up your authenticator app again.',
    });
  }
  const step = await matchTotpCode(box.open(pending.secret, userId), code, now);
  if (step === null) {
    throw wrongCode(
      'That code is not right. Check that the app shows MegiLance with your email, and enter its current code.',
    );
  }
  const confirmed = await db
    .updateTable('mfa_totp')
    .set({ confirmed_at: now, last_used_step: step })
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is', null)
    // A set-up restarted meanwhile has a different secret: this code was not for it.
    .where('secret', '=', pending.secret)
    .executeTakeFirst();
  if (confirmed.numUpdatedRows !== 1n) {
    throw new AppError('CONFLICT', { message: 'The set-up changed meanwhile. Start setting up your app again.' });
  }
}

export type TotpCheck =
  | { kind: 'accepted'; step: number }
  | { kind: 'wrong' }
  | { kind: 'not_enrolled' }
  /** Right code, but its step was already used (or a later one was): a copied or replayed code. */
  | { kind: 'replayed'; step: number };

export async function checkTotpCode(
  db: Kysely<Database>,
  box: SecretBox,
  userId: string,
  code: string,
  now: number,
): Promise<TotpCheck> {
  const totp = await confirmedTotp(db, userId);
  if (totp === undefined) return { kind: 'not_enrolled' };
  const step = await matchTotpCode(box.open(totp.secret, userId), code, now);
  if (step === null) return { kind: 'wrong' };
  if (totp.last_used_step !== null && step <= totp.last_used_step) return { kind: 'replayed', step };
  // Compare-and-swap: of two requests racing with the same code, only one moves the step forward.
  const advanced = await db
    .updateTable('mfa_totp')
    .set({ last_used_step: step })
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return advanced.numUpdatedRows === 1n ? { kind: 'accepted', step } : { kind: 'replayed', step };
}
