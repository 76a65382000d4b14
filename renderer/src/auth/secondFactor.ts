/**
 * The second sign-in step, as the server is adding it (issue 3):
 *
 * - `auth.signIn` may answer `{ status: 'mfa_required', challengeId, methods,
 *   defaultMethod, reasons }` (reasons are sentences for the user, e.g.
 *   "New sign-in from Chrome 156 on Linux");
 * - `auth.completeSignIn({ challengeId, method, code })` answers the same
 *   tokens as `auth.verifyEmail`;
 * - `auth.sendSignInCode({ challengeId })` mails a new email code.
 *
 * Everything the screens need of it goes through this file, so it stays
 * type-safe while the router catches up.
 * TODO(issue 3): once AppRouter has both procedures with these inputs, call
 * `trpcClient.auth.completeSignIn` / `sendSignInCode` directly (or through
 * `useTRPC().auth.completeSignIn.mutationOptions()`) and delete
 * `SecondFactorProcedures` and `secondFactorProcedures`.
 */
import type { inferRouterOutputs } from '@trpc/server';
import { getUntypedClient } from '@trpc/client';
import { z } from 'zod';
import { emailCodeSchema, type IssuedTokens } from '../../../shared/accounts.ts';
import type { AppRouter } from '../../../server/router.ts';
import type { ApiClient } from '../api/trpc.ts';

export const secondFactorMethods = ['email', 'totp', 'backup_code'] as const;
export type SecondFactorMethod = (typeof secondFactorMethods)[number];

export interface SecondFactorChallenge {
  status: 'mfa_required';
  challengeId: string;
  methods: SecondFactorMethod[];
  defaultMethod: SecondFactorMethod;
  reasons: string[];
}

/** Every answer `auth.signIn` can give, the coming one included (a union with itself once the server has it). */
export type SignInAnswer = inferRouterOutputs<AppRouter>['auth']['signIn'] | SecondFactorChallenge;

export interface CompleteSignInInput {
  challengeId: string;
  method: SecondFactorMethod;
  code: string;
}

interface SecondFactorProcedures {
  completeSignIn: { mutate(input: CompleteSignInInput): Promise<IssuedTokens> };
  sendSignInCode: { mutate(input: { challengeId: string }): Promise<unknown> };
}

export function secondFactorProcedures(client: ApiClient): SecondFactorProcedures {
  // By path through the same links (session, batching), whether or not AppRouter declares them yet.
  const untyped = getUntypedClient(client);
  return {
    completeSignIn: { mutate: (input) => untyped.mutation('auth.completeSignIn', input) as Promise<IssuedTokens> },
    sendSignInCode: { mutate: (input) => untyped.mutation('auth.sendSignInCode', input) },
  };
}

/** Reads a challenge passed between screens (history state), trusting nothing. */
export function parseChallenge(value: unknown): SecondFactorChallenge | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const isMethod = (m: unknown): m is SecondFactorMethod =>
    typeof m === 'string' && (secondFactorMethods as readonly string[]).includes(m);
  if (v['status'] !== 'mfa_required' || typeof v['challengeId'] !== 'string' || v['challengeId'] === '') return null;
  const methods = Array.isArray(v['methods']) ? v['methods'].filter(isMethod) : [];
  if (methods.length === 0) return null;
  const defaultMethod =
    isMethod(v['defaultMethod']) && methods.includes(v['defaultMethod']) ? v['defaultMethod'] : methods[0]!;
  const reasons = Array.isArray(v['reasons']) ? v['reasons'].filter((r): r is string => typeof r === 'string') : [];
  return { status: 'mfa_required', challengeId: v['challengeId'], methods, defaultMethod, reasons };
}

/**
 * The rule for each kind of code. Email codes use the server's schema;
 * authenticator codes are six digits (apps show "123 456", so spaces go).
 * Backup codes are only checked for presence: the server normalises them.
 * TODO(issue 3): use the shared TOTP and backup-code schemas once they are in shared/.
 */
export function secondFactorCodeSchema(
  method: SecondFactorMethod,
  messages: { totp: string; backupCode: string },
): z.ZodType<string> {
  switch (method) {
    case 'email':
      return emailCodeSchema;
    case 'totp':
      return z
        .string()
        .max(32, messages.totp)
        .transform((value) => value.replace(/\s/g, ''))
        .pipe(z.string().regex(/^\d{6}$/, messages.totp));
    case 'backup_code':
      return z.string().trim().min(1, messages.backupCode).max(64, messages.backupCode);
  }
}
