/**
 * Passkey procedures (`passkeys.*`): thin adapters to the rules in
 * passkeys.ts. Tokens travel as in router.ts: browsers get the refresh token
 * as the httpOnly cookie, the desktop app in the answer.
 *
 * The `*Options` procedures are mutations: each creates a single-use challenge.
 */
import type { ClientDevice, IssuedTokens } from '../../shared/accounts.ts';
import {
  passkeyAssertionInput,
  passkeySignInInput,
  registerPasskeyInput,
  registrationOptionsInput,
  removePasskeyInput,
  renamePasskeyInput,
} from '../../shared/passkeys.ts';
import type { RequestContext } from '../context.ts';
import { authedProcedure, publicProcedure, router, stepUpProcedure } from '../trpc.ts';
import * as passkeys from './passkeys.ts';
import { REFRESH_COOKIE } from './router.ts';
import type { SignInRequest } from './sign-in.ts';

/** The refresh cookie's path, as router.ts sets it. */
const COOKIE_PATH = '/trpc';

function passkeyDeps(ctx: RequestContext): passkeys.PasskeyDeps {
  const { db, config, passwordHasher, mailer, logger, riskLists, locate } = ctx.deps;
  return {
    db,
    config: config.security,
    hasher: passwordHasher,
    mailer,
    logger,
    riskLists,
    locate,
    origin: ctx.deps.publicOrigin(),
  };
}

function signInRequest(ctx: RequestContext, reported: ClientDevice): SignInRequest {
  return { ip: ctx.client.ip, userAgent: ctx.client.userAgent, kind: ctx.client.kind, reported };
}

function actorOf(ctx: RequestContext & { session: { sessionId: string } }): passkeys.PasskeyActor {
  return { ip: ctx.client.ip, deviceLabel: null, sessionId: ctx.session.sessionId };
}

/** Puts the refresh token where this kind of client keeps it (router.ts's `deliverTokens`). */
function deliverTokens(ctx: RequestContext, tokens: IssuedTokens & { refreshToken: string }): IssuedTokens {
  if (ctx.client.kind === 'desktop' || ctx.cookies === null) return tokens;
  ctx.cookies.set(REFRESH_COOKIE, tokens.refreshToken, {
    path: COOKIE_PATH,
    maxAgeSeconds: Math.floor(ctx.deps.config.security.sessionAbsoluteTtlMs / 1000),
  });
  return { ...tokens, refreshToken: null };
}

export const passkeysRouter = router({
  /** Adding the first credential needs a session; adding another needs a fresh second factor (STEP_UP_REQUIRED). */
  registrationOptions: authedProcedure
    .input(registrationOptionsInput)
    .mutation(({ ctx, input }) => passkeys.registrationOptions(passkeyDeps(ctx), ctx.session, input.kind)),

  register: authedProcedure
    .input(registerPasskeyInput)
    .mutation(({ ctx, input }) => passkeys.registerPasskey(passkeyDeps(ctx), ctx.session, input, actorOf(ctx))),

  list: authedProcedure.query(({ ctx }) => passkeys.listPasskeys(passkeyDeps(ctx), ctx.session.userId)),

  rename: authedProcedure
    .input(renamePasskeyInput)
    .mutation(({ ctx, input }) => passkeys.renamePasskey(passkeyDeps(ctx), ctx.session.userId, input.id, input.name)),

  remove: stepUpProcedure
    .input(removePasskeyInput)
    .mutation(({ ctx, input }) => passkeys.removePasskey(passkeyDeps(ctx), ctx.session.userId, input.id, actorOf(ctx))),

  /** Passwordless sign-in, step 1: a challenge for any discoverable credential of this site. */
  signInOptions: publicProcedure.mutation(({ ctx }) => passkeys.signInOptions(passkeyDeps(ctx))),

  /** Passwordless sign-in, step 2: the same tokens as `auth.verifyEmail`; the session is MFA-fresh. */
  signIn: publicProcedure.input(passkeySignInInput).mutation(async ({ ctx, input }) => {
    const tokens = await passkeys.signInWithPasskey(passkeyDeps(ctx), input, signInRequest(ctx, input.device));
    return deliverTokens(ctx, tokens);
  }),

  /** Step-up inside a session with a passkey or security key. */
  stepUpOptions: authedProcedure.mutation(({ ctx }) => passkeys.stepUpOptions(passkeyDeps(ctx), ctx.session.userId)),

  stepUp: authedProcedure
    .input(passkeyAssertionInput)
    .mutation(({ ctx, input }) => passkeys.stepUpWithPasskey(passkeyDeps(ctx), ctx.session, input, actorOf(ctx))),
});
