/** "Send a new code" waits this long after a code was sent, so a double click does not mail twice and codes are not requested in bulk. */
export const RESEND_COOLDOWN_MS = 60_000;

/** Whole seconds until another code may be requested (0 = now). */
export function cooldownSecondsLeft(sentAt: number | null, now: number, cooldownMs = RESEND_COOLDOWN_MS): number {
  if (sentAt === null) return 0;
  const left = sentAt + cooldownMs - now;
  // A clock set back must not lock the button for longer than one cooldown.
  return left <= 0 ? 0 : Math.ceil(Math.min(left, cooldownMs) / 1000);
}
