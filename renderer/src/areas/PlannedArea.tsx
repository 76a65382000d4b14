/**
 * The screen for an area that is not built yet: what it will hold, plainly,
 * and no made-up data. Each area replaces this with its real screen.
 */
import { useTranslation } from 'react-i18next';
import { Page } from '../shell/Page.tsx';
import { areaIcons, type PlannedAreaId } from '../shell/navigation.ts';

export function PlannedArea({ area }: { area: PlannedAreaId }) {
  const { t } = useTranslation();
  const Icon = areaIcons[area];
  const headingId = `${area}-status`;
  return (
    <Page title={t(`nav.${area}`)}>
      <p className="lead">{t(`areas.${area}.lead`)}</p>
      <section className="empty-state" aria-labelledby={headingId}>
        <span className="empty-state-icon">
          <Icon />
        </span>
        <h2 id={headingId}>{t('areas.notYet')}</h2>
        <p>{t(`areas.${area}.willHold`)}</p>
      </section>
    </Page>
  );
}
