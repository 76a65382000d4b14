import { describe, expect, it } from 'vitest';
import { MAX_REFRESH_LEAD_MS, MIN_REFRESH_DELAY_MS, refreshDelayMs, refreshRetryDelayMs } from './grant.ts';

const MINUTE = 60_000;

describe('refreshDelayMs', () => {
  it('refreshes a 15-minute token one minute before it expires', () => {
    expect(refreshDelayMs(15 * MINUTE, 0)).toBe(14 * MINUTE);
    expect(MAX_REFRESH_LEAD_MS).toBe(MINUTE);
  });

  it('refreshes a short token with a fifth of its life to spare', () => {
    expect(refreshDelayMs(MINUTE, 0)).toBe(48_000);
  });

  it('counts from now, not from when the token was issued', () => {
    expect(refreshDelayMs(15 * MINUTE, 10 * MINUTE)).toBe(4 * MINUTE);
  });

  it('never schedules a tight loop, even for a token that already looks expired (clock skew)', () => {
    expect(refreshDelayMs(0, 5 * MINUTE)).toBe(MIN_REFRESH_DELAY_MS);
    expect(refreshDelayMs(10_000, 0)).toBe(MIN_REFRESH_DELAY_MS);
  });
});

describe('refreshRetryDelayMs', () => {
  it('backs off from 2 s to a 30 s ceiling while the server cannot be reached', () => {
    expect([0, 1, 2, 3, 4, 5].map(refreshRetryDelayMs)).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });
});
