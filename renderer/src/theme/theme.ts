/**
 * Light and dark themes. The user picks System, Light or Dark; "System"
 * follows the OS. The choice is a preference, not a secret, so it lives in
 * localStorage; the resolved theme is written to `<html data-theme>`, which
 * the stylesheet reads.
 */

export const THEME_STORAGE_KEY = 'megilance.theme';

export const themePreferences = ['system', 'light', 'dark'] as const;
export type ThemePreference = (typeof themePreferences)[number];
export type Theme = 'light' | 'dark';

/** Reads a stored preference, treating anything unknown (or nothing) as "system". */
export function parseThemePreference(stored: string | null | undefined): ThemePreference {
  return themePreferences.find((preference) => preference === stored) ?? 'system';
}

export function resolveTheme(preference: ThemePreference, systemPrefersDark: boolean): Theme {
  if (preference === 'system') return systemPrefersDark ? 'dark' : 'light';
  return preference;
}

/** The quick toggle flips what the user sees now, turning "system" into an explicit choice. */
export function toggledTheme(current: Theme): Theme {
  return current === 'dark' ? 'light' : 'dark';
}
