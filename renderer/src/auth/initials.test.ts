import { describe, expect, it } from 'vitest';
import { initialsOf } from './initials.ts';

describe('initialsOf', () => {
  it('takes the first letters of the first and last names', () => {
    expect(initialsOf('Ada Lovelace')).toBe('AL');
    expect(initialsOf('  grace  brewster murray hopper ')).toBe('GH');
    expect(initialsOf('ada')).toBe('A');
    expect(initialsOf('Ömer Şahin')).toBe('ÖŞ');
    expect(initialsOf('')).toBe('');
  });
});
