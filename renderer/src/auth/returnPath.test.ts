import { describe, expect, it } from 'vitest';
import { returnPathFrom, safeReturnPath, signInPathFor, withReturnPath } from './returnPath.ts';

describe('redirect after sign-in', () => {
  it('sends a signed-out user to sign-in, remembering the screen they asked for', () => {
    expect(signInPathFor({ pathname: '/security', search: '', hash: '' })).toBe('/sign-in?next=%2Fsecurity');
    expect(signInPathFor({ pathname: '/jobs', search: '?q=react', hash: '#top' })).toBe(
      '/sign-in?next=%2Fjobs%3Fq%3Dreact%23top',
    );
  });

  it('does not bother carrying the home screen', () => {
    expect(signInPathFor({ pathname: '/', search: '', hash: '' })).toBe('/sign-in');
    expect(signInPathFor({ pathname: '/jobs', search: '', hash: '' })).toBe('/sign-in');
  });

  it('returns there after signing in, and home when nothing was asked for', () => {
    expect(returnPathFrom('?next=%2Fsecurity')).toBe('/security');
    expect(returnPathFrom('?next=%2Fjobs%3Fq%3Dreact%23top')).toBe('/jobs?q=react#top');
    expect(returnPathFrom('')).toBe('/jobs');
  });

  it('never leaves the app: other origins and scheme tricks go home instead', () => {
    for (const hostile of [
      'https://evil.example/phish',
      '//evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      'javascript:alert(1)',
      '/\tsecurity',
      'security',
    ]) {
      expect(returnPathFrom(`?${new URLSearchParams({ next: hostile }).toString()}`), hostile).toBe('/jobs');
    }
    // Escaped characters stay escaped, inside the app.
    expect(safeReturnPath('/%0d%0a//evil.example')).toBe('/%0d%0a//evil.example');
  });

  it('never returns to an account screen, which would loop', () => {
    expect(safeReturnPath('/sign-in')).toBeNull();
    expect(safeReturnPath('/sign-in/second-step')).toBeNull();
    expect(safeReturnPath('/verify-email?x=1')).toBeNull();
    expect(safeReturnPath('/sign-inside')).toBe('/sign-inside');
  });

  it('carries the destination from one account screen to the next', () => {
    expect(withReturnPath('/verify-email', '/security')).toBe('/verify-email?next=%2Fsecurity');
    expect(withReturnPath('/verify-email', null)).toBe('/verify-email');
  });
});
