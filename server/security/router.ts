/**
 * Account procedures: thin adapters from tRPC to the account rules. Token
 * transport lives here: browsers get the refresh token as an httpOnly,
 * Secure, SameSite=Strict cookie scoped to the API; the desktop app gets it
 * in the answer and keeps it in the OS keychain. Access tokens are returned
 * to both and held in memory only.
 */
import { z } from 'zod';
import {
  changePasswordInput,
  emailSchema,
  refreshInput,
  requestPasswordResetInput,
  resetPasswordInput,
  signInInput,
  signUpInput,
  verifyEmailInput,
  type ClientDevice,
  type IssuedTokens,
} from '../../shared/accounts.ts';
import { AppError } from '../../shared/errors.ts';
import {
  beginSmsInput,
  beginTotpInput,
  completeSignInInput,
  confirmSmsInput,
  confirmTotpInput,
  sendSignInCodeInput,
  sendStepUpCodeInput,
  setDefaultMethodInput,
  stepUpInput,
} from '../../shared/mfa.ts';
import type { RequestContext } from '../context.ts';
import { authedProcedure, publicProcedure, router, stepUpProcedure } from '../trpc.ts';
import * as accounts from './accounts.ts';
import { listSecurityEvents } from './events.ts';
import * as mfa from './mfa.ts';
import { listSessions, revokeSessions, rotateRefreshToken } from './sessions.ts';
import {
  completeSignIn,
  resendSignInCode,
  signIn,
  verifyEmailAndSignIn,
  type SignInDeps,
  type SignInRequest,
} from './sign-in.ts';

export const REFRESH_COOKIE = 'megilance_refresh';
const COOKIE_PATH = '/trpc';

export function accountsDeps(ctx: RequestContext): accounts.AccountsDeps {
  const { db, config, passwordHasher, mailer, sms, secretBox, logger } = ctx.deps;
  return { db, config: config.security, hasher: passwordHasher, mailer, sms, secretBox, logger };
}

/** Revokes the caller's own sessions and closes their open sockets at once; returns how many ended. */
async function endSessions(
  ctx: RequestContext & { session: NonNullable<RequestContext['session']> },
  which: { sessionId: string } | { allExcept: string },
  reason: 'signed_out' | 'revoked_by_user',
): Promise<number> {
  const ids = await revokeSessions(ctx.deps.db, ctx.session.userId, which, reason, {
    ip: ctx.client.ip,
    sessionId: ctx.session.sessionId,
  });
  // Signing out here: the client reopens its own socket without the token. Anyone else's socket is closed now.
  if (reason !== 'signed_out') ctx.deps.liveSockets.closeSessions(ids, 'Signed out from another device');
  return ids.length;
}

export function signInDeps(ctx: RequestContext): SignInDeps {
  return { ...accountsDeps(ctx), riskLists: ctx.deps.riskLists, locate: ctx.deps.locate };
}

export function signInRequest(ctx: RequestContext, reported: ClientDevice): SignInRequest {
  return { ip: ctx.client.ip, userAgent: ctx.client.userAgent, kind: ctx.client.kind, reported };
}

/** Puts the refresh token where this kind of client keeps it; returns what the client is sent. */
export function deliverTokens(ctx: RequestContext, tokens: IssuedTokens & { refreshToken: string }): IssuedTokens {
  if (ctx.client.kind === 'desktop' || ctx.cookies === null) return tokens;
  ctx.cookies.set(REFRESH_COOKIE, tokens.refreshToken, {
    path: COOKIE_PATH,
    maxAgeSeconds: Math.floor(ctx.deps.config.security.sessionAbsoluteTtlMs / 1000),
  });
  return { ...tokens, refreshToken: null };
}

export const authRouter = router({
  signUp: publicProcedure
    .input(signUpInput)
    .mutation(({ ctx, input }) => accounts.signUp(accountsDeps(ctx), input, ctx.client)),

  resendVerification: publicProcedure.input(z.object({ email: emailSchema })).mutation(async ({ ctx, input }) => {
    await accounts.resendVerification(accountsDeps(ctx), input.email);
    return { status: 'sent_if_pending' as const };
  }),

  verifyEmail: publicProcedure
    .input(verifyEmailInput.extend({ device: signInInput.shape.device }))
    .mutation(async ({ ctx, input }) => {
      const tokens = await verifyEmailAndSignIn(signInDeps(ctx), input, signInRequest(ctx, input.device));
      return deliverTokens(ctx, tokens);
    }),

  signIn: publicProcedure.input(signInInput).mutation(async ({ ctx, input }) => {
    const result = await signIn(signInDeps(ctx), input, signInRequest(ctx, input.device));
    if (result.status !== 'signed_in') return result;
    return { status: 'signed_in' as const, tokens: deliverTokens(ctx, result.tokens) };
  }),

  /** The tokens, plus `backupCodesRemaining` when a backup code was spent (so the UI can warn when few are left). */
  completeSignIn: publicProcedure.input(completeSignInInput).mutation(async ({ ctx, input }) => {
    const { backupCodesRemaining, ...tokens } = await completeSignIn(signInDeps(ctx), input);
    const answer: IssuedTokens & { backupCodesRemaining?: number } = deliverTokens(ctx, tokens);
    if (backupCodesRemaining !== undefined) answer.backupCodesRemaining = backupCodesRemaining;
    return answer;
  }),

  /** Mails (default) or texts a new code for an open challenge; `to` is the address or the masked number. */
  sendSignInCode: publicProcedure.input(sendSignInCodeInput).mutation(async ({ ctx, input }) => {
    const { to } = await resendSignInCode(signInDeps(ctx), input.challengeId, input.method);
    return { status: 'sent' as const, to };
  }),

  refresh: publicProcedure.input(refreshInput).mutation(async ({ ctx, input }) => {
    const presented = input.refreshToken ?? ctx.cookies?.get(REFRESH_COOKIE);
    if (presented === undefined) throw new AppError('UNAUTHENTICATED');
    try {
      const tokens = await rotateRefreshToken(ctx.deps.db, ctx.deps.config.security, presented, {
        ip: ctx.client.ip,
        deviceLabel: ctx.client.userAgent,
      });
      // A token that came in the cookie goes back only in the cookie, whatever the client says it is: a
      // script in the page (XSS) must not turn a browser's httpOnly refresh token into one it can read.
      return input.refreshToken === undefined
        ? deliverTokens({ ...ctx, client: { ...ctx.client, kind: 'web' } }, tokens)
        : deliverTokens(ctx, tokens);
    } catch (error) {
      ctx.cookies?.clear(REFRESH_COOKIE, { path: COOKIE_PATH });
      throw error;
    }
  }),

  signOut: authedProcedure.mutation(async ({ ctx }) => {
    await endSessions(ctx, { sessionId: ctx.session.sessionId }, 'signed_out');
    ctx.cookies?.clear(REFRESH_COOKIE, { path: COOKIE_PATH });
    return { status: 'signed_out' as const };
  }),

  me: authedProcedure.query(async ({ ctx }) => {
    const user = await ctx.deps.db
      .selectFrom('users')
      .select(['id', 'email', 'display_name', 'email_verified_at', 'created_at'])
      .where('id', '=', ctx.session.userId)
      .executeTakeFirstOrThrow();
    return {
      id: user.id,
      email: user.email,
      displayName: user.display_name,
      emailVerified: user.email_verified_at !== null,
      createdAt: new Date(user.created_at),
    };
  }),

  changePassword: authedProcedure
    .input(changePasswordInput)
    .mutation(({ ctx, input }) => accounts.changePassword(accountsDeps(ctx), ctx.session, input, ctx.client)),

  requestPasswordReset: publicProcedure.input(requestPasswordResetInput).mutation(async ({ ctx, input }) => {
    await accounts.requestPasswordReset(accountsDeps(ctx), input.email, ctx.client);
    return { status: 'sent_if_account_exists' as const };
  }),

  resetPassword: publicProcedure.input(resetPasswordInput).mutation(async ({ ctx, input }) => {
    await accounts.resetPassword(accountsDeps(ctx), input, ctx.client);
    return { status: 'password_reset' as const };
  }),
});

export const securityRouter = router({
  sessions: authedProcedure.query(({ ctx }) =>
    listSessions(ctx.deps.db, ctx.deps.config.security, ctx.session.userId, ctx.session.sessionId),
  ),

  revokeSession: authedProcedure
    .input(z.object({ sessionId: z.string().min(1).max(64) }))
    .mutation(async ({ ctx, input }) => {
      const revoked = await endSessions(ctx, { sessionId: input.sessionId }, 'revoked_by_user');
      // Another user's session id looks exactly like an unknown one.
      if (revoked === 0) throw new AppError('NOT_FOUND', { message: 'That session is not signed in any more.' });
      return { revoked };
    }),

  revokeOtherSessions: authedProcedure.mutation(async ({ ctx }) => ({
    revoked: await endSessions(ctx, { allExcept: ctx.session.sessionId }, 'revoked_by_user'),
  })),

  events: authedProcedure
    .input(
      z.object({
        beforeId: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => listSecurityEvents(ctx.deps.db, ctx.session.userId, input)),
});

/**
 * Two-step verification of the signed-in user (never anyone else: every
 * procedure acts on ctx.session.userId). Changing factors needs step-up;
 * `stepUp` is how a session proves a second factor again.
 */
export const mfaRouter = router({
  status: authedProcedure.query(({ ctx }) => mfa.mfaStatus(accountsDeps(ctx), ctx.session)),

  totp: router({
    /** Password again (or a fresh second factor) → secret, otpauth:// URI and QR code, until confirmed. */
    begin: authedProcedure
      .input(beginTotpInput)
      .mutation(({ ctx, input }) => mfa.beginTotp(accountsDeps(ctx), ctx.session, input)),
    /** A code from the app turns it on; the first time, the answer carries the backup codes (shown once). */
    confirm: authedProcedure
      .input(confirmTotpInput)
      .mutation(({ ctx, input }) => mfa.confirmTotp(accountsDeps(ctx), ctx.session, input.code, ctx.client)),
    remove: stepUpProcedure.mutation(({ ctx }) => mfa.removeTotp(accountsDeps(ctx), ctx.session, ctx.client)),
  }),

  sms: router({
    /** Texts a code to the number; the first factor needs the password again, another one step-up. */
    begin: authedProcedure
      .input(beginSmsInput)
      .mutation(({ ctx, input }) => mfa.beginSms(accountsDeps(ctx), ctx.session, input)),
    /** The texted code verifies the number; the first factor's answer carries the backup codes (shown once). */
    confirm: authedProcedure
      .input(confirmSmsInput)
      .mutation(({ ctx, input }) => mfa.confirmSms(accountsDeps(ctx), ctx.session, input.code, ctx.client)),
    remove: stepUpProcedure.mutation(({ ctx }) => mfa.removeSms(accountsDeps(ctx), ctx.session, ctx.client)),
  }),

  backupCodes: router({
    /** A new batch of ten (shown once); the old codes stop working. */
    regenerate: stepUpProcedure.mutation(({ ctx }) =>
      mfa.regenerateBackupCodes(accountsDeps(ctx), ctx.session, ctx.client),
    ),
  }),

  setDefault: stepUpProcedure
    .input(setDefaultMethodInput)
    .mutation(({ ctx, input }) => mfa.setDefaultMethod(accountsDeps(ctx), ctx.session, input.method)),

  /** Mails (accounts without an enrolled factor) or texts (a verified phone) the code `stepUp` takes. */
  sendStepUpCode: authedProcedure
    .input(sendStepUpCodeInput)
    .mutation(({ ctx, input }) => mfa.sendStepUpCode(accountsDeps(ctx), ctx.session, input.method)),

  stepUp: authedProcedure
    .input(stepUpInput)
    .mutation(({ ctx, input }) => mfa.stepUp(accountsDeps(ctx), ctx.session, input, ctx.client)),
});
