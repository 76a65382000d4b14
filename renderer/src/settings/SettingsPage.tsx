import { useTranslation } from 'react-i18next';
import { OfflineDataSettings } from '../desktop/OfflineDataSettings.tsx';
import { supportedLanguages, isSupportedLanguage } from '../i18n/languages.ts';
import { chooseLanguage } from '../i18n/languagePreference.ts';
import { Page } from '../shell/Page.tsx';
import { themePreferences } from '../theme/theme.ts';
import { themeStore } from '../theme/themeStore.ts';
import { useTheme } from '../theme/useTheme.ts';
import { AboutServer } from './AboutServer.tsx';

export function SettingsPage() {
  const { t } = useTranslation();
  return (
    <Page title={t('settings.title')}>
      <AppearanceSettings />
      <LanguageSettings />
      <OfflineDataSettings />
      <AboutServer />
    </Page>
  );
}

function AppearanceSettings() {
  const { t } = useTranslation();
  const { preference } = useTheme();
  return (
    <section className="card" aria-labelledby="appearance-heading">
      <h2 id="appearance-heading">{t('settings.appearance.heading')}</h2>
      <fieldset className="choice-group" role="radiogroup" aria-labelledby="theme-legend" aria-describedby="theme-hint">
        <legend id="theme-legend">{t('settings.appearance.theme')}</legend>
        <div className="choices">
          {themePreferences.map((option) => (
            <label key={option} className="choice">
              <input
                type="radio"
                name="theme"
                value={option}
                checked={preference === option}
                onChange={() => themeStore.setPreference(option)}
              />
              {t(`settings.appearance.${option}`)}
            </label>
          ))}
        </div>
        <p className="hint" id="theme-hint">
          {t('settings.appearance.systemHint')}
        </p>
      </fieldset>
    </section>
  );
}

function LanguageSettings() {
  const { t, i18n } = useTranslation();
  return (
    <section className="card" aria-labelledby="language-heading">
      <h2 id="language-heading">{t('settings.language.heading')}</h2>
      <div className="field">
        <label htmlFor="language-select">{t('settings.language.label')}</label>
        <select
          id="language-select"
          value={i18n.resolvedLanguage ?? i18n.language}
          aria-describedby="language-hint"
          onChange={(event) => {
            const code = event.target.value;
            if (isSupportedLanguage(code)) chooseLanguage(i18n, code);
          }}
        >
          {supportedLanguages.map((language) => (
            <option key={language.code} value={language.code} lang={language.code}>
              {language.nativeName}
            </option>
          ))}
        </select>
        <p className="hint" id="language-hint">
          {t('settings.language.hint')}
        </p>
      </div>
    </section>
  );
}
