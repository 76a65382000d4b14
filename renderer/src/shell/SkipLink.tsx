import type { MouseEvent, RefObject } from 'react';
import { useTranslation } from 'react-i18next';

/** The first stop for keyboard users: straight to the screen's content. */
export function SkipLink({ mainRef }: { mainRef: RefObject<HTMLElement | null> }) {
  const { t } = useTranslation();
  const skipToContent = (event: MouseEvent<HTMLAnchorElement>) => {
    event.preventDefault();
    mainRef.current?.focus();
  };
  return (
    <a className="skip-link" href="#content" onClick={skipToContent}>
      {t('app.skipToContent')}
    </a>
  );
}
