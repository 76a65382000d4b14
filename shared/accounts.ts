/**
 * Account inputs, validated with the same schemas in the UI's forms and in
 * the server's procedures, so a user sees the server's rule before sending.
 */
import { z } from 'zod';

/** ASVS 2.1.1/2.1.2: at least 12 characters, at most 128, no composition rules. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

export const emailSchema = z
  .string()
  .trim()
  .min(1, 'Enter your email address.')
  .max(254, 'That email address is too long.')
  .pipe(z.email('Enter a valid email address, like name@example.com.'));

export const newPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters.`)
  .max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters.`)
  .refine((value) => value.trim().length > 0, 'A password cannot be only spaces.');

/** Sign-in accepts any stored password: no length rules that would leak policy changes. */
export const existingPasswordSchema = z.string().min(1, 'Enter your password.').max(1024, 'That password is too long.');

export const displayNameSchema = z.string().trim().min(1, 'Enter your name.').max(80, 'Use at most 80 characters.');

export const emailCodeSchema = z
  .string()
  .trim()
  .regex(/^\d{6}$/, 'Enter the 6-digit code from the email.');

/** What a client says about itself; the server also sees the IP and User-Agent. */
export const clientDeviceSchema = z
  .object({
    /** A random id the desktop app keeps per install (in the OS keychain). */
    installId: z.string().min(16).max(128).optional(),
    platform: z.string().max(32).optional(),
    appVersion: z.string().max(32).optional(),
    timezone: z.string().max(64).optional(),
    language: z.string().max(35).optional(),
    screen: z.string().max(32).optional(),
  })
  .default({});

export const signUpInput = z.object({
  email: emailSchema,
  password: newPasswordSchema,
  displayName: displayNameSchema,
  device: clientDeviceSchema,
});

export const signInInput = z.object({
  email: emailSchema,
  password: existingPasswordSchema,
  device: clientDeviceSchema,
});

export const verifyEmailInput = z.object({ email: emailSchema, code: emailCodeSchema });
export const requestPasswordResetInput = z.object({ email: emailSchema });
export const resetPasswordInput = z.object({
  email: emailSchema,
  code: emailCodeSchema,
  newPassword: newPasswordSchema,
});
export const changePasswordInput = z.object({
  currentPassword: existingPasswordSchema,
  newPassword: newPasswordSchema,
});
export const refreshInput = z
  .object({
    /** Desktop clients send the token from the OS keychain; browsers send the httpOnly cookie. */
    refreshToken: z.string().min(1).max(200).optional(),
  })
  .default({});

export type SignUpInput = z.infer<typeof signUpInput>;
export type SignInInput = z.infer<typeof signInInput>;
export type ClientDevice = z.infer<typeof clientDeviceSchema>;

/** Tokens as the client receives them. The refresh token is absent when it went into a cookie. */
export interface IssuedTokens {
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string | null;
  sessionId: string;
}
