import { describe, expect, it } from 'vitest';
import { cooldownSecondsLeft, RESEND_COOLDOWN_MS } from './cooldown.ts';

describe('cooldownSecondsLeft', () => {
  it('counts down the minute after a code was sent, in whole seconds', () => {
    expect(cooldownSecondsLeft(1_000, 1_000)).toBe(60);
    expect(cooldownSecondsLeft(1_000, 1_001)).toBe(60);
    expect(cooldownSecondsLeft(1_000, 60_500)).toBe(1);
    expect(cooldownSecondsLeft(1_000, 1_000 + RESEND_COOLDOWN_MS)).toBe(0);
  });

  it('allows a new code at once when no code is known to have been sent', () => {
    expect(cooldownSecondsLeft(null, 5_000)).toBe(0);
  });

  it('never locks for more than one cooldown when the clock jumps back', () => {
    expect(cooldownSecondsLeft(10 * 60_000, 0)).toBe(60);
  });
});
