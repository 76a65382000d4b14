import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './trpc.ts';

describe('reconnectDelayMs', () => {
  it('retries a dropped connection almost at once, then backs off to a 10 s ceiling', () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => reconnectDelayMs(attempt));
    expect(delays).toEqual([250, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });
});
