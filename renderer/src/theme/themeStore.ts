/**
 * The page's theme: the user's preference, the OS setting, and the
 * `<html data-theme>` attribute kept in step with both. `start()` runs in
 * main.tsx before React renders, so the first paint already has the right
 * theme (the stylesheet also follows the OS on its own until then).
 */
import { THEME_STORAGE_KEY, parseThemePreference, resolveTheme, type Theme, type ThemePreference } from './theme.ts';

export interface ThemeState {
  preference: ThemePreference;
  theme: Theme;
}

const darkQuery = '(prefers-color-scheme: dark)';

function readStoredPreference(): ThemePreference {
  try {
    return parseThemePreference(localStorage.getItem(THEME_STORAGE_KEY));
  } catch {
    // Storage can be disabled (privacy settings); the OS theme still works.
    return 'system';
  }
}

function storePreference(preference: ThemePreference): void {
  try {
    localStorage.setItem(THEME_STORAGE_KEY, preference);
  } catch {
    // Not persisted; it still applies for this session.
  }
}

class ThemeStore {
  #state: ThemeState = { preference: 'system', theme: 'light' };
  readonly #listeners = new Set<() => void>();
  #started = false;

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const media = window.matchMedia(darkQuery);
    media.addEventListener('change', () => this.#update(this.#state.preference));
    // Another window of the app changed the preference.
    window.addEventListener('storage', (event) => {
      if (event.key === THEME_STORAGE_KEY || event.key === null) this.#update(readStoredPreference());
    });
    this.#update(readStoredPreference());
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getState = (): ThemeState => this.#state;

  setPreference(preference: ThemePreference): void {
    storePreference(preference);
    this.#update(preference);
  }

  #update(preference: ThemePreference): void {
    const theme = resolveTheme(preference, window.matchMedia(darkQuery).matches);
    document.documentElement.dataset['theme'] = theme;
    if (preference === this.#state.preference && theme === this.#state.theme) return;
    this.#state = { preference, theme };
    for (const listener of this.#listeners) listener();
  }
}

export const themeStore = new ThemeStore();
