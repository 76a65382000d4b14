import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useTRPC } from '../api/trpc.ts';
import { useApiEndpoints } from '../connection/ConnectionContext.tsx';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { formatUptime } from './formatUptime.ts';
import { useNow } from './useNow.ts';

/** What `system.info` says about the server this UI talks to. */
export function AboutServer() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const { origin } = useApiEndpoints();
  const info = useQuery(trpc.system.info.queryOptions());
  const now = useNow(1_000);

  let facts = null;
  if (info.data !== undefined) {
    // Counted from when the answer arrived, so the client's clock does not matter.
    const uptime = info.data.uptimeSeconds + Math.max(0, (now - info.dataUpdatedAt) / 1_000);
    facts = (
      <dl className="facts">
        <div>
          <dt>{t('settings.about.address')}</dt>
          <dd>{origin}</dd>
        </div>
        <div>
          <dt>{t('settings.about.version')}</dt>
          <dd>{info.data.version}</dd>
        </div>
        <div>
          <dt>{t('settings.about.database')}</dt>
          <dd>{t(`database.${info.data.database.engine}`)}</dd>
        </div>
        <div>
          <dt>{t('settings.about.environment')}</dt>
          <dd>{info.data.environment}</dd>
        </div>
        <div>
          <dt>{t('settings.about.started')}</dt>
          <dd>
            <time dateTime={info.data.startedAt.toISOString()}>
              {new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(
                info.data.startedAt,
              )}
            </time>
          </dd>
        </div>
        <div>
          <dt>{t('settings.about.uptime')}</dt>
          <dd>{formatUptime(uptime, i18n.language)}</dd>
        </div>
      </dl>
    );
  }

  return (
    <section className="card" aria-labelledby="about-server-heading">
      <h2 id="about-server-heading">{t('settings.about.heading')}</h2>
      {facts}
      {info.isPending && <p className="muted">{t('settings.about.loading')}</p>}
      {info.isError && <ErrorNotice error={info.error} />}
    </section>
  );
}
