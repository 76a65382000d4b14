/**
 * Passkeys and security keys (WebAuthn): the inputs of the `passkeys.*`
 * procedures and what they answer, shared by the screens and the server.
 *
 * The browser's WebAuthn responses are checked here only for shape and size
 * (base64url strings of bounded length); the server's WebAuthn library
 * verifies what they say.
 */
import { z } from 'zod';
import { clientDeviceSchema } from './accounts.ts';

/** Passkeys sign in without a password; security keys are a second factor after one. */
export const passkeyKinds = ['passkey', 'security_key'] as const;
export type PasskeyKind = (typeof passkeyKinds)[number];

export const PASSKEY_NAME_MAX_LENGTH = 64;

const base64url = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, 'Expected base64url.');

/** Credential ids are at most 1023 bytes (WebAuthn §5.8.3): 1364 base64url characters. */
export const credentialIdSchema = base64url(1364);

export const passkeyNameSchema = z
  .string()
  .trim()
  .min(1, 'Give this passkey a name, like “Work laptop”.')
  .max(PASSKEY_NAME_MAX_LENGTH, `Use at most ${PASSKEY_NAME_MAX_LENGTH} characters.`);

const challengeIdSchema = z.string().min(1).max(64);

const transportsSchema = z.array(z.string().min(1).max(32)).max(10);

/** Only `credProps` is read (whether the credential is discoverable); other extension outputs are dropped. */
const clientExtensionResultsSchema = z
  .object({ credProps: z.object({ rk: z.boolean().optional() }).optional() })
  .default({});

const credentialBase = {
  id: credentialIdSchema,
  rawId: credentialIdSchema,
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: clientExtensionResultsSchema,
};

const sameIds = (value: { id: string; rawId: string }) => value.id === value.rawId;

/** `startRegistration()`'s answer (a `RegistrationResponseJSON`). */
export const registrationResponseSchema = z
  .object({
    ...credentialBase,
    response: z.object({
      clientDataJSON: base64url(8192),
      attestationObject: base64url(65_536),
      authenticatorData: base64url(32_768).optional(),
      transports: transportsSchema.optional(),
      publicKeyAlgorithm: z.number().int().optional(),
      publicKey: base64url(16_384).optional(),
    }),
  })
  .refine(sameIds, { message: 'id and rawId differ.', path: ['rawId'] });

/** `startAuthentication()`'s answer (an `AuthenticationResponseJSON`). */
export const authenticationResponseSchema = z
  .object({
    ...credentialBase,
    response: z.object({
      clientDataJSON: base64url(8192),
      authenticatorData: base64url(32_768),
      signature: base64url(16_384),
      /** The user handle (at most 64 bytes) a discoverable credential returns. */
      userHandle: base64url(86).optional(),
    }),
  })
  .refine(sameIds, { message: 'id and rawId differ.', path: ['rawId'] });

export const registrationOptionsInput = z.object({ kind: z.enum(passkeyKinds).default('passkey') }).default({
  kind: 'passkey',
});

export const registerPasskeyInput = z.object({
  challengeId: challengeIdSchema,
  response: registrationResponseSchema,
  /** Defaults to “Passkey” or “Security key”. */
  name: passkeyNameSchema.optional(),
});

export const renamePasskeyInput = z.object({ id: credentialIdSchema, name: passkeyNameSchema });
export const removePasskeyInput = z.object({ id: credentialIdSchema });

/** Passwordless sign-in, and a passkey proving a second factor inside a session (`passkeys.stepUp`). */
export const passkeyAssertionInput = z.object({
  challengeId: challengeIdSchema,
  response: authenticationResponseSchema,
});
export const passkeySignInInput = passkeyAssertionInput.extend({ device: clientDeviceSchema });
/** `passkeys.secondStepOptions`: the open sign-in challenge (from `auth.signIn`) a passkey should finish. */
export const passkeySecondStepOptionsInput = z.object({ challengeId: challengeIdSchema });
/** `passkeys.completeSignIn`: the sign-in challenge, and the passkey challenge the assertion answers. */
export const passkeySecondStepInput = z.object({
  challengeId: challengeIdSchema,
  passkeyChallengeId: challengeIdSchema,
  response: authenticationResponseSchema,
});

export type RegistrationResponseInput = z.output<typeof registrationResponseSchema>;
export type AuthenticationResponseInput = z.output<typeof authenticationResponseSchema>;

/** A passkey or security key as the Security page lists it. */
export interface PasskeyView {
  id: string;
  name: string;
  kind: PasskeyKind;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** A synced passkey (multi-device) that the platform reports as backed up. */
  backedUp: boolean;
  synced: boolean;
  transports: string[];
}
