import { describe, expect, it } from 'vitest';
import { parseThemePreference, resolveTheme, toggledTheme } from './theme.ts';

describe('theme preference', () => {
  it('follows the OS until the user chooses', () => {
    expect(parseThemePreference(null)).toBe('system');
    expect(resolveTheme('system', false)).toBe('light');
    expect(resolveTheme('system', true)).toBe('dark');
  });

  it('keeps an explicit choice whatever the OS says', () => {
    expect(resolveTheme(parseThemePreference('light'), true)).toBe('light');
    expect(resolveTheme(parseThemePreference('dark'), false)).toBe('dark');
  });

  it('ignores stored values it does not know', () => {
    expect(parseThemePreference('sepia')).toBe('system');
    expect(parseThemePreference('')).toBe('system');
    expect(parseThemePreference('Dark')).toBe('system');
  });

  it('toggles between light and dark', () => {
    expect(toggledTheme('light')).toBe('dark');
    expect(toggledTheme('dark')).toBe('light');
  });
});
