/**
 * Two-step verification: the second factors, their code formats and the
 * inputs of the `mfa.*` procedures and `auth.completeSignIn`, shared by the
 * screens (form validation) and the server (procedure inputs).
 */
import { z } from 'zod';
import { emailCodeSchema, existingPasswordSchema } from './accounts.ts';

/**
 * Strongest first: the order a sign-in challenge lists them in. `passkey`
 * covers every WebAuthn credential (passkeys and security keys) used after
 * the password.
 */
export const secondFactorMethods = ['passkey', 'totp', 'sms', 'email', 'backup_code'] as const;
export type SecondFactorMethod = (typeof secondFactorMethods)[number];
/** The methods whose proof is a typed code (`passkey` proves itself with a WebAuthn assertion). */
export type CodeMethod = Exclude<SecondFactorMethod, 'passkey'>;
/** Methods a user may choose as the default: factors they set up (backup codes are the fallback, never the default). */
export const defaultableMethods = ['passkey', 'totp', 'sms'] as const;
export type DefaultableMethod = (typeof defaultableMethods)[number];

export const BACKUP_CODE_COUNT = 10;
/**
 * Crockford's base32 in lower case: digits and letters without i, l, o and u,
 * so nothing on a printed sheet can be misread (0/o, 1/l/i).
 */
export const BACKUP_CODE_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A backup code as typed: case, spaces and the dash do not matter, and the
 * look-alikes the alphabet leaves out are read as what they look like
 * (o → 0, i/l → 1). Returns `xxxx-xxxx`, or null when it cannot be a code.
 */
export function normaliseBackupCode(input: string): string | null {
  const plain = input.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
  if (!/^[0-9abcdefghjkmnpqrstvwxyz]{8}$/.test(plain)) return null;
  return `${plain.slice(0, 4)}-${plain.slice(4)}`;
}

/** Six digits from an authenticator app; apps show them as `123 456`, so spaces are dropped. */
export const totpCodeSchema = z
  .string()
  .max(32, 'Enter the 6-digit code from your authenticator app.')
  .transform((value) => value.replace(/\s/g, ''))
  .pipe(z.string().regex(/^\d{6}$/, 'Enter the 6-digit code from your authenticator app.'));

export const backupCodeSchema = z
  .string()
  .max(32, 'Enter one of your backup codes, like abcd-2345.')
  .transform((value, ctx) => {
    const code = normaliseBackupCode(value);
    if (code === null) {
      ctx.addIssue({ code: 'custom', message: 'Enter one of your backup codes, like abcd-2345.' });
      return z.NEVER;
    }
    return code;
  });

/** Six digits texted to the user's phone. */
export const smsCodeSchema = z
  .string()
  .max(32, 'Enter the 6-digit code from the text message.')
  .transform((value) => value.replace(/\s/g, ''))
  .pipe(z.string().regex(/^\d{6}$/, 'Enter the 6-digit code from the text message.'));

/**
 * A mobile number as people type it ("+44 7700 900123"); the server turns it
 * into E.164 and reports problems on `phone`.
 */
export const phoneNumberSchema = z
  .string()
  .trim()
  .min(1, 'Enter your mobile number, starting with + and the country code.')
  .max(32, 'That is too long for a phone number.');

const challengeId = z.string().min(1).max(64);

/** `auth.completeSignIn`: each method checks its own code format, reported on `code`. Passkeys: `passkeys.completeSignIn`. */
export const completeSignInInput = z.discriminatedUnion('method', [
  z.object({ challengeId, method: z.literal('totp'), code: totpCodeSchema }),
  z.object({ challengeId, method: z.literal('sms'), code: smsCodeSchema }),
  z.object({ challengeId, method: z.literal('email'), code: emailCodeSchema }),
  z.object({ challengeId, method: z.literal('backup_code'), code: backupCodeSchema }),
]);
export type CompleteSignInInput = z.input<typeof completeSignInInput>;

/** `auth.sendSignInCode`: mail (default) or text a code for a sign-in challenge. */
export const sendSignInCodeInput = z.object({
  challengeId,
  method: z.enum(['email', 'sms']).default('email'),
});

/** `mfa.stepUp`: proving a second factor inside a session. Passkeys: `passkeys.stepUp`. */
export const stepUpInput = z.discriminatedUnion('method', [
  z.object({ method: z.literal('email'), code: emailCodeSchema }),
  z.object({ method: z.literal('totp'), code: totpCodeSchema }),
  z.object({ method: z.literal('sms'), code: smsCodeSchema }),
  z.object({ method: z.literal('backup_code'), code: backupCodeSchema }),
]);

/** `mfa.sendStepUpCode`: which channel carries the step-up code (email when absent). */
export const sendStepUpCodeInput = z.object({ method: z.enum(['email', 'sms']).default('email') }).default({
  method: 'email',
});
export type StepUpInput = z.input<typeof stepUpInput>;

/**
 * `mfa.totp.begin`: setting up the first factor needs the password again,
 * unless the session proved a second factor within the step-up window.
 */
export const beginTotpInput = z.object({ currentPassword: existingPasswordSchema.optional() }).default({});
export const confirmTotpInput = z.object({ code: totpCodeSchema });
export const setDefaultMethodInput = z.object({ method: z.enum(defaultableMethods) });

/**
 * `mfa.sms.begin`: texts a code to the number. The first factor needs the
 * password again (as `mfa.totp.begin`), unless the session proved a second
 * factor within the step-up window; with other factors set up, step-up.
 */
export const beginSmsInput = z.object({
  phone: phoneNumberSchema,
  currentPassword: existingPasswordSchema.optional(),
});
export const confirmSmsInput = z.object({ code: smsCodeSchema });

/** What `mfa.totp.begin` answers: shown once, while the user scans it. */
export interface TotpEnrollment {
  /** `otpauth://totp/MegiLance:<email>?secret=…&issuer=MegiLance` (SHA-1, 6 digits, 30 s). */
  otpauthUri: string;
  /** The URI as a QR code, an `<svg>` document to show as an image. */
  qrSvg: string;
  /** Base32, for typing into an app that cannot scan. */
  secret: string;
}

/** Fresh backup codes: the only time the server ever shows them. Offer a download, then forget them. */
export interface IssuedBackupCodes {
  codes: string[];
  generatedAt: Date;
}

export interface MfaStatus {
  totp: { enabled: boolean; enabledAt: Date | null };
  sms: {
    /** Whether this server can send texts (Twilio or, in development, the dev outbox). */
    available: boolean;
    /** `outbox`: development; texts are kept in the dev outbox instead of being sent. */
    provider: 'twilio' | 'outbox' | null;
    /** The verified number, masked (`+44*******123`), or null. */
    number: string | null;
    enabledAt: Date | null;
  };
  /** WebAuthn credentials (passkeys and security keys): each is a second factor after the password. */
  passkeys: { count: number };
  backupCodes: { remaining: number; generatedAt: Date | null };
  /** What a sign-in challenge offers, strongest first. */
  methods: SecondFactorMethod[];
  defaultMethod: SecondFactorMethod;
  /** True with an authenticator app: every sign-in asks for it. Otherwise only risky sign-ins ask (by email). */
  requiredAtEverySignIn: boolean;
  /** When this session last proved a second factor; step-up procedures need it within `stepUpWindowMinutes`. */
  sessionVerifiedAt: Date | null;
  stepUpWindowMinutes: number;
}
