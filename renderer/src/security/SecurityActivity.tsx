/** The user's security log, newest first, a page at a time. */
import { useInfiniteQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useAuthState } from '../auth/AuthContext.tsx';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { securityEventSentence } from './eventSentence.ts';

export const ACTIVITY_PAGE_SIZE = 20;

export function SecurityActivity() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const auth = useAuthState();
  const currentSession = auth.status === 'signed_in' ? auth.grant.sessionId : null;
  const events = useInfiniteQuery({
    // Under the procedure's own key, so invalidating `security` refreshes it too.
    queryKey: [...trpc.security.events.pathKey(), { pageSize: ACTIVITY_PAGE_SIZE }],
    queryFn: ({ pageParam }) =>
      client.security.events.query(
        pageParam === null ? { limit: ACTIVITY_PAGE_SIZE } : { limit: ACTIVITY_PAGE_SIZE, beforeId: pageParam },
      ),
    initialPageParam: null as number | null,
    // A short page is the last one.
    getNextPageParam: (page) => (page.length < ACTIVITY_PAGE_SIZE ? null : (page.at(-1)?.id ?? null)),
  });
  const all = events.data?.pages.flat() ?? [];
  const dateFormat = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });

  return (
    <section className="card" aria-labelledby="activity-heading">
      <h2 id="activity-heading">{t('security.activity.heading')}</h2>
      <p className="muted">{t('security.activity.lead')}</p>
      {events.isPending && <p className="muted">{t('security.activity.loading')}</p>}
      {events.data !== undefined && all.length === 0 && <p className="muted">{t('security.activity.empty')}</p>}
      {all.length > 0 && (
        <ol className="item-list" aria-labelledby="activity-heading">
          {all.map((event) => {
            const sentence = securityEventSentence(event);
            const where = [
              event.deviceLabel,
              sentence.place,
              event.ip === null ? null : t('security.devices.ip', { ip: event.ip }),
            ].filter((part): part is string => part !== null);
            return (
              <li key={event.id} className="item" data-kind={event.kind}>
                <div className="item-main">
                  <p className="item-title">
                    {t(sentence.key)}
                    {event.sessionId !== null && event.sessionId === currentSession && event.kind === 'signed_in' && (
                      <span className="badge">{t('security.devices.thisDevice')}</span>
                    )}
                  </p>
                  {sentence.note !== null && <p className="item-note">{sentence.note}</p>}
                  <p className="item-meta">
                    {where.length > 0 && `${where.join(' · ')} · `}
                    <time dateTime={event.at.toISOString()}>{dateFormat.format(event.at)}</time>
                  </p>
                </div>
              </li>
            );
          })}
        </ol>
      )}
      <ErrorNotice error={events.error} />
      {events.hasNextPage && (
        <p>
          <button
            type="button"
            className="button button-secondary"
            aria-disabled={events.isFetchingNextPage ? true : undefined}
            onClick={() => {
              if (!events.isFetchingNextPage) void events.fetchNextPage();
            }}
          >
            {events.isFetchingNextPage ? t('security.activity.loadingMore') : t('security.activity.more')}
          </button>
        </p>
      )}
    </section>
  );
}
