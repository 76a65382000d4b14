/** The user's language choice, kept like the theme: a local preference, not account data. */
import type { i18n as I18n } from 'i18next';
import { LANGUAGE_STORAGE_KEY, type LanguageCode } from './languages.ts';

export function readStoredLanguage(): string | null {
  try {
    return localStorage.getItem(LANGUAGE_STORAGE_KEY);
  } catch {
    return null;
  }
}

export function chooseLanguage(i18n: I18n, language: LanguageCode): void {
  try {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, language);
  } catch {
    // Not persisted; it still applies for this session.
  }
  void i18n.changeLanguage(language);
}
