/**
 * The languages the UI speaks. Adding one: add its JSON beside en.json, list
 * it here, and register it in i18n.ts. Names are autonyms (each language's
 * name in itself), so a user can find theirs whatever language is showing.
 */
export const supportedLanguages = [{ code: 'en', nativeName: 'English' }] as const;

export type LanguageCode = (typeof supportedLanguages)[number]['code'];

export const LANGUAGE_STORAGE_KEY = 'megilance.language';
export const fallbackLanguage: LanguageCode = 'en';

export function isSupportedLanguage(code: unknown): code is LanguageCode {
  return supportedLanguages.some((language) => language.code === code);
}

/**
 * The language to start in: the user's stored choice, else the first of the
 * OS/browser languages we speak (matching `pt-BR` to `pt` if that is all we
 * have), else English.
 */
export function pickLanguage(stored: string | null, preferred: readonly string[]): LanguageCode {
  if (isSupportedLanguage(stored)) return stored;
  for (const tag of preferred) {
    if (isSupportedLanguage(tag)) return tag;
    const base = tag.split('-')[0]?.toLowerCase();
    if (isSupportedLanguage(base)) return base;
  }
  return fallbackLanguage;
}
