/**
 * The account screens' paths, and what one screen hands the next in history
 * state (so a reload keeps it, and nothing personal goes into the URL).
 */
export const accountRoutes = {
  signIn: '/sign-in',
  secondStep: '/sign-in/second-step',
  signUp: '/sign-up',
  verifyEmail: '/verify-email',
  forgotPassword: '/forgot-password',
  resetPassword: '/reset-password',
} as const;

export interface AccountScreenState {
  /** The address the user typed on the previous screen. */
  email?: string | undefined;
  /** When the server last mailed a code (epoch ms), for the resend cooldown. */
  codeSentAt?: number | undefined;
  /** Why the user is asked to confirm their email. */
  why?: 'signed_up' | 'unverified' | undefined;
  /** Something to tell the user on arrival. */
  notice?: 'password_reset' | undefined;
  /** The second-factor challenge from `auth.signIn` (checked by parseChallenge). */
  challenge?: unknown;
}

/** History state is whatever the browser kept: trust nothing in it. */
export function readAccountState(value: unknown): AccountScreenState {
  if (typeof value !== 'object' || value === null) return {};
  const v = value as Record<string, unknown>;
  const state: AccountScreenState = {};
  if (typeof v['email'] === 'string' && v['email'] !== '') state.email = v['email'];
  if (typeof v['codeSentAt'] === 'number' && Number.isFinite(v['codeSentAt'])) state.codeSentAt = v['codeSentAt'];
  if (v['why'] === 'signed_up' || v['why'] === 'unverified') state.why = v['why'];
  if (v['notice'] === 'password_reset') state.notice = v['notice'];
  if ('challenge' in v) state.challenge = v['challenge'];
  return state;
}
