/** What shows while the session is being restored, or cannot be because the server is out of reach. */
import { useTranslation } from 'react-i18next';
import { ErrorNotice, useDescribeError } from '../errors/ErrorNotice.tsx';
import { useAuthSession } from './AuthContext.tsx';

export function SessionPending() {
  const { t } = useTranslation();
  return (
    <div className="session-pending">
      <p className="muted" aria-live="polite">
        {t('account.pending')}
      </p>
    </div>
  );
}

export function SessionUnreachable({ error }: { error: unknown }) {
  const { t } = useTranslation();
  const session = useAuthSession();
  const describe = useDescribeError();
  return (
    <div className="card account-card">
      <h1 className="page-title">{t('account.unreachable.title')}</h1>
      {/* The title already says it for a network failure; anything else (a server error) is worth its words. */}
      {describe(error).kind !== 'network' && <ErrorNotice error={error} />}
      <p>{t('account.unreachable.body')}</p>
      <p>
        <button type="button" className="button" onClick={() => session.retryNow()}>
          {t('account.unreachable.retry')}
        </button>
      </p>
    </div>
  );
}
