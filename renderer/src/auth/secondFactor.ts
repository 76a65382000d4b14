/**
 * The second sign-in step: `auth.signIn` may answer `{ status: 'mfa_required',
 * challengeId, methods, defaultMethod, reasons, phone, smsSent }` (reasons are
 * sentences for the user, e.g. "New sign-in from Chrome 156 on Linux"); the
 * screen then calls `auth.completeSignIn({ challengeId, method, code })` for
 * typed codes (`auth.sendSignInCode({ challengeId, method })` mails or texts a
 * new one), or `passkeys.secondStepOptions` → WebAuthn →
 * `passkeys.completeSignIn` for a passkey or security key.
 *
 * This file holds the pure parts: reading a challenge handed over in history
 * state, and the code rule of each method (the server's own schemas).
 */
import type { inferRouterOutputs } from '@trpc/server';
import type { z } from 'zod';
import { emailCodeSchema } from '../../../shared/accounts.ts';
import {
  backupCodeSchema,
  secondFactorMethods,
  smsCodeSchema,
  totpCodeSchema,
  type CodeMethod,
  type SecondFactorMethod,
  type StepUpInput,
} from '../../../shared/mfa.ts';
import type { AppRouter } from '../../../server/router.ts';

export { secondFactorMethods, type CodeMethod, type SecondFactorMethod };

export type SignInAnswer = inferRouterOutputs<AppRouter>['auth']['signIn'];
export type SecondFactorChallenge = Extract<SignInAnswer, { status: 'mfa_required' }>;

/** Reads a challenge passed between screens (history state), trusting nothing. */
export function parseChallenge(value: unknown): SecondFactorChallenge | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const isMethod = (m: unknown): m is SecondFactorMethod =>
    typeof m === 'string' && (secondFactorMethods as readonly string[]).includes(m);
  if (v['status'] !== 'mfa_required' || typeof v['challengeId'] !== 'string' || v['challengeId'] === '') return null;
  const methods = Array.isArray(v['methods']) ? [...new Set(v['methods'].filter(isMethod))] : [];
  if (methods.length === 0) return null;
  const defaultMethod =
    isMethod(v['defaultMethod']) && methods.includes(v['defaultMethod']) ? v['defaultMethod'] : methods[0]!;
  const reasons = Array.isArray(v['reasons']) ? v['reasons'].filter((r): r is string => typeof r === 'string') : [];
  const phone = typeof v['phone'] === 'string' && v['phone'].length <= 32 ? v['phone'] : null;
  const smsSent = v['smsSent'] === true;
  return { status: 'mfa_required', challengeId: v['challengeId'], methods, defaultMethod, reasons, phone, smsSent };
}

/** The methods in the order the switcher shows them: the default first, then the server's order. */
export function methodsDefaultFirst(challenge: Pick<SecondFactorChallenge, 'methods' | 'defaultMethod'>) {
  return [challenge.defaultMethod, ...challenge.methods.filter((m) => m !== challenge.defaultMethod)];
}

/** The rule for each kind of code: the schemas the server checks `completeSignIn` and `stepUp` with. */
export function secondFactorCodeSchema(method: CodeMethod): z.ZodType<string, string> {
  switch (method) {
    case 'email':
      return emailCodeSchema;
    case 'totp':
      return totpCodeSchema;
    case 'sms':
      return smsCodeSchema;
    case 'backup_code':
      return backupCodeSchema;
  }
}

/** `{ method, code }` as the discriminated inputs of `auth.completeSignIn` and `mfa.stepUp` take it. */
export function codeInput(method: CodeMethod, code: string): StepUpInput {
  switch (method) {
    case 'email':
      return { method, code };
    case 'totp':
      return { method, code };
    case 'sms':
      return { method, code };
    case 'backup_code':
      return { method, code };
  }
}
