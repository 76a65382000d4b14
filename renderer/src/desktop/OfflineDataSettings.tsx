/**
 * Settings → "Offline data", in the desktop app only: how much the local
 * cache holds, a "Clear offline data" button (after a confirmation), and
 * the changes made offline that wait to be sent, with the ones that need
 * the user (changed elsewhere: keep mine / take theirs; could not be sent:
 * try again / discard). Everything comes from window.megilance; in a
 * browser this renders nothing.
 */
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { DesktopCacheStats, DesktopOutboxState } from '../../../shared/desktop-api.ts';
import { desktopApi } from '../api/endpoints.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { ConfirmDialog } from '../shell/ConfirmDialog.tsx';
import {
  changeTitle,
  formatBytes,
  needsAttention,
  offlineDataApi,
  outboxSummary,
  type OfflineDataApi,
  type Resolution,
} from './offlineData.ts';

export function OfflineDataSettings() {
  const api = offlineDataApi(desktopApi());
  if (api === undefined) return null;
  return <OfflineData api={api} />;
}

function OfflineData({ api }: { api: OfflineDataApi }) {
  const { t, i18n } = useTranslation();
  const [stats, setStats] = useState<DesktopCacheStats | null>(null);
  const [outbox, setOutbox] = useState<DesktopOutboxState | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [clearing, setClearing] = useState(false);
  const [clearError, setClearError] = useState<unknown>(null);
  const [cleared, setCleared] = useState<number | null>(null);
  const [working, setWorking] = useState<string | null>(null);

  const refreshStats = useCallback(() => {
    api.cache.stats().then(setStats, setError);
  }, [api]);

  useEffect(() => {
    let live = true;
    refreshStats();
    api.outbox.state().then((state) => live && setOutbox(state), setError);
    const unsubscribe = api.onOutboxState((state) => {
      setOutbox(state);
      // Sent changes are written into the cache: its numbers move too.
      if (!state.available || !state.replaying) refreshStats();
    });
    return () => {
      live = false;
      unsubscribe();
    };
  }, [api, refreshStats]);

  const clear = () => {
    setClearing(true);
    setClearError(null);
    api.cache
      .clear({ includeOutbox: false })
      .then((result) => {
        setConfirming(false);
        setCleared(result.cleared ? result.records : 0);
        refreshStats();
      }, setClearError)
      .finally(() => setClearing(false));
  };

  const resolve = (id: string, action: Resolution) => {
    setWorking(id);
    setError(null);
    api.outbox[action](id)
      .then(() => undefined, setError)
      .finally(() => setWorking(null));
  };

  const summary = outboxSummary(outbox);
  const attention = needsAttention(outbox);

  return (
    <section className="card" aria-labelledby="offline-data-heading">
      <h2 id="offline-data-heading">{t('desktop.offline.heading')}</h2>
      <p className="hint">{t('desktop.offline.intro')}</p>
      {stats === null ? (
        <p className="muted">{t('desktop.offline.loading')}</p>
      ) : stats.open ? (
        <dl className="facts">
          <div>
            <dt>{t('desktop.offline.size')}</dt>
            <dd>{formatBytes(stats.bytes, i18n.language)}</dd>
          </div>
          <div>
            <dt>{t('desktop.offline.saved')}</dt>
            <dd>{t('desktop.offline.records', { count: stats.records })}</dd>
          </div>
        </dl>
      ) : stats.reason === 'signed-out' ? (
        <p className="muted">{t('desktop.offline.signedOut')}</p>
      ) : (
        <p className="muted">{t('desktop.offline.unavailable', { message: stats.message ?? '' })}</p>
      )}
      {stats?.open === true && (
        <div className="actions">
          <button type="button" className="button button-secondary" onClick={() => setConfirming(true)}>
            {t('desktop.offline.clear')}
          </button>
        </div>
      )}
      <div aria-live="polite" className="notice-region">
        {cleared !== null && <p className="hint">{t('desktop.offline.cleared', { count: cleared })}</p>}
      </div>

      {summary.kind !== 'unavailable' && (
        <div className="subsection">
          <h3>{t('desktop.outbox.heading')}</h3>
          <p role="status">
            {summary.kind === 'all-sent'
              ? t('desktop.outbox.allSent')
              : t('desktop.outbox.waiting', { count: summary.count })}
            {summary.kind === 'waiting' && summary.sending && ` ${t('desktop.outbox.sending')}`}
          </p>
          {summary.kind === 'waiting' && summary.held !== null && (
            <p className="hint">{t(`desktop.outbox.held.${summary.held}`)}</p>
          )}
          {attention.length > 0 && (
            <ul className="item-list">
              {attention.map(({ item, actions }) => {
                const title = changeTitle(item);
                return (
                  <li key={item.id} className="item">
                    <div className="item-main">
                      <span className="item-title">
                        {item.procedure === 'drafts.remove'
                          ? t('desktop.outbox.change.remove')
                          : t('desktop.outbox.change.save', { title: title ?? t('desktop.outbox.change.untitled') })}
                      </span>
                      <span className="item-note">
                        {item.status === 'conflict'
                          ? t('desktop.outbox.conflict')
                          : t('desktop.outbox.failed', { message: item.problem?.message ?? '' })}
                      </span>
                    </div>
                    <div className="item-actions">
                      {actions.map((action) => (
                        <button
                          key={action}
                          type="button"
                          className={`button button-small ${action === 'discard' ? 'button-danger' : 'button-secondary'}`}
                          aria-disabled={working === item.id ? true : undefined}
                          onClick={() => working === null && resolve(item.id, action)}
                        >
                          {t(`desktop.outbox.actions.${action}`)}
                        </button>
                      ))}
                    </div>
                  </li>
                );
              })}
            </ul>
          )}
          {summary.kind === 'waiting' && summary.held !== null && summary.held !== 'unauthenticated' && (
            <div className="actions">
              <button
                type="button"
                className="button button-secondary button-small"
                onClick={() => void api.outbox.replay().catch(setError)}
              >
                {t('desktop.outbox.sendNow')}
              </button>
            </div>
          )}
        </div>
      )}
      <ErrorNotice error={error} />

      <ConfirmDialog
        open={confirming}
        title={t('desktop.offline.confirmTitle')}
        body={<p>{t('desktop.offline.confirmBody')}</p>}
        confirmLabel={t('desktop.offline.clear')}
        busyLabel={t('desktop.offline.clearing')}
        busy={clearing}
        error={clearError}
        onConfirm={clear}
        onCancel={() => {
          setConfirming(false);
          setClearError(null);
        }}
      />
    </section>
  );
}
