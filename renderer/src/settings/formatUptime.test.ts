import { describe, expect, it } from 'vitest';
import { formatUptime } from './formatUptime.ts';

describe('formatUptime', () => {
  it('shows the two largest units', () => {
    expect(formatUptime(3 * 86_400 + 4 * 3_600 + 5 * 60 + 6, 'en')).toBe('3 days, 4 hours');
    expect(formatUptime(3_600 + 2 * 60 + 5, 'en')).toBe('1 hour, 2 minutes');
    expect(formatUptime(42, 'en')).toBe('42 seconds');
  });

  it('keeps a zero middle unit rather than skipping to a smaller one', () => {
    expect(formatUptime(86_400 + 30, 'en')).toBe('1 day, 0 hours');
  });

  it('reads a server that just started as zero seconds', () => {
    expect(formatUptime(0, 'en')).toBe('0 seconds');
    expect(formatUptime(-5, 'en')).toBe('0 seconds');
  });

  it('speaks the user’s language', () => {
    expect(formatUptime(2 * 3_600 + 60, 'de')).toBe('2 Stunden, 1 Minute');
  });
});
