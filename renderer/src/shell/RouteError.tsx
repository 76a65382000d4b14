import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useRouteError } from 'react-router';
import { Page } from './Page.tsx';

/** Shown when a screen throws while rendering or loading; the rest of the shell keeps working. */
export function RouteError() {
  const { t } = useTranslation();
  const error = useRouteError();
  useEffect(() => {
    console.error('screen failed', error);
  }, [error]);
  return (
    <Page title={t('routeError.title')}>
      <p>{t('routeError.body')}</p>
      <p>
        <button type="button" className="button" onClick={() => window.location.reload()}>
          {t('routeError.reload')}
        </button>
      </p>
    </Page>
  );
}
