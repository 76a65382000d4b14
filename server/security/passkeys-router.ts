/**
 * Passkey procedures (`passkeys.*`): thin adapters to the rules in
 * passkeys.ts. Tokens travel as in router.ts: browsers get the refresh token
 * as the httpOnly cookie, the desktop app in the answer.
 *
 * The `*Options` procedures are mutations: each creates a single-use challenge.
 */
import {
  passkeyAssertionInput,
  passkeySecondStepInput,
  passkeySecondStepOptionsInput,
  passkeySignInInput,
  registerPasskeyInput,
  registrationOptionsInput,
  removePasskeyInput,
  renamePasskeyInput,
} from '../../shared/passkeys.ts';
import type { RequestContext } from '../context.ts';
import { authedProcedure, publicProcedure, router, stepUpProcedure } from '../trpc.ts';
import * as passkeys from './passkeys.ts';
import { deliverTokens, signInDeps, signInRequest } from './router.ts';

function passkeyDeps(ctx: RequestContext): passkeys.PasskeyDeps {
  return { ...signInDeps(ctx), origin: ctx.deps.publicOrigin() };
}

function actorOf(ctx: RequestContext & { session: { sessionId: string } }): passkeys.PasskeyActor {
  return { ip: ctx.client.ip, deviceLabel: null, sessionId: ctx.session.sessionId };
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

  /** A password sign-in's second step, part 1: a challenge for that account's credentials. */
  secondStepOptions: publicProcedure
    .input(passkeySecondStepOptionsInput)
    .mutation(({ ctx, input }) => passkeys.signInSecondStepOptions(passkeyDeps(ctx), input.challengeId)),

  /** Part 2: the assertion finishes the sign-in (the same answer as `auth.completeSignIn`). */
  completeSignIn: publicProcedure.input(passkeySecondStepInput).mutation(async ({ ctx, input }) => {
    const tokens = await passkeys.completeSignInWithPasskey(passkeyDeps(ctx), input);
    return deliverTokens(ctx, tokens);
  }),

  /** Step-up inside a session with a passkey or security key. */
  stepUpOptions: authedProcedure.mutation(({ ctx }) => passkeys.stepUpOptions(passkeyDeps(ctx), ctx.session.userId)),

  stepUp: authedProcedure
    .input(passkeyAssertionInput)
    .mutation(({ ctx, input }) => passkeys.stepUpWithPasskey(passkeyDeps(ctx), ctx.session, input, actorOf(ctx))),
});
