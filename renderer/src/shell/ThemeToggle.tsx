import { useTranslation } from 'react-i18next';
import { toggledTheme } from '../theme/theme.ts';
import { themeStore } from '../theme/themeStore.ts';
import { useTheme } from '../theme/useTheme.ts';
import { MoonIcon, SunIcon } from './icons.tsx';

/** Flips between light and dark; Settings also offers "System". */
export function ThemeToggle() {
  const { t } = useTranslation();
  const { theme } = useTheme();
  const next = toggledTheme(theme);
  return (
    <button
      type="button"
      className="icon-button"
      aria-label={t('theme.toggle')}
      title={next === 'dark' ? t('theme.switchToDark') : t('theme.switchToLight')}
      onClick={() => themeStore.setPreference(next)}
    >
      {theme === 'dark' ? <SunIcon /> : <MoonIcon />}
    </button>
  );
}
