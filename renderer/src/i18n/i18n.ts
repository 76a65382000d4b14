/**
 * i18next set up for the renderer. Components get strings with
 * `useTranslation()`; nothing user-facing is written inline in a component.
 */
import i18next, { type i18n as I18n } from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.json';
import { fallbackLanguage, supportedLanguages, type LanguageCode } from './languages.ts';

export const resources = { en: { translation: en } } as const;

/** A ready, synchronous i18next instance (all strings are bundled, nothing loads over the network). */
export function createI18n(language: LanguageCode, instance: I18n = i18next.createInstance()): I18n {
  void instance.init({
    resources,
    lng: language,
    fallbackLng: fallbackLanguage,
    supportedLngs: supportedLanguages.map((l) => l.code),
    initAsync: false,
    // React escapes output itself.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  return instance;
}

/** The app's instance, wired into react-i18next, keeping `<html lang dir>` in step. */
export function startI18n(language: LanguageCode): I18n {
  const instance = createI18n(language, i18next.use(initReactI18next));
  const applyLanguage = (lng: string) => {
    document.documentElement.lang = lng;
    document.documentElement.dir = instance.dir(lng);
  };
  applyLanguage(instance.language);
  instance.on('languageChanged', applyLanguage);
  return instance;
}
