import { describe, expect, it } from 'vitest';
import { relativeTime } from './relativeTime.ts';

const now = Date.parse('2026-03-01T12:00:00Z');
const ago = (ms: number) => new Date(now - ms);
const MINUTE = 60_000;

describe('relativeTime', () => {
  it('calls the last two minutes "now" (null), including a server clock slightly ahead', () => {
    expect(relativeTime(ago(90_000), now, 'en')).toBeNull();
    expect(relativeTime(ago(-5_000), now, 'en')).toBeNull();
  });

  it('uses the largest whole unit, in the given language', () => {
    expect(relativeTime(ago(5 * MINUTE), now, 'en')).toBe('5 minutes ago');
    expect(relativeTime(ago(3 * 60 * MINUTE + 5 * MINUTE), now, 'en')).toBe('3 hours ago');
    expect(relativeTime(ago(26 * 60 * MINUTE), now, 'en')).toBe('yesterday');
    expect(relativeTime(ago(15 * 24 * 60 * MINUTE), now, 'en')).toBe('2 weeks ago');
    expect(relativeTime(ago(5 * MINUTE), now, 'fr')).toBe('il y a 5 minutes');
  });
});
