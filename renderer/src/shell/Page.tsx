import { useEffect, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/** A screen: its one h1 and the window title. The shell moves focus to the h1 after navigation. */
export function Page({ title, children }: { title: string; children?: ReactNode }) {
  const { t } = useTranslation();
  const documentTitle = t('app.documentTitle', { page: title });
  useEffect(() => {
    document.title = documentTitle;
  }, [documentTitle]);
  return (
    <div className="page">
      <h1 className="page-title" tabIndex={-1}>
        {title}
      </h1>
      {children}
    </div>
  );
}
