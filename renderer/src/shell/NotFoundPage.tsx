import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router';
import { HOME_PATH } from './navigation.ts';
import { Page } from './Page.tsx';

export function NotFoundPage() {
  const { t } = useTranslation();
  const { pathname } = useLocation();
  return (
    <Page title={t('notFound.title')}>
      <p>{t('notFound.body', { path: pathname })}</p>
      <p>
        <Link to={HOME_PATH} className="button">
          {t('notFound.home')}
        </Link>
      </p>
    </Page>
  );
}
