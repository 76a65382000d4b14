import { useTranslation } from 'react-i18next';
import { useConnectionStatus } from './ConnectionContext.tsx';

/**
 * The one live region for the server link. Its text is exactly one of the
 * four `connection.*` strings, so tests and screen readers read it as is.
 */
export function ConnectionIndicator() {
  const { t } = useTranslation();
  const status = useConnectionStatus();
  return (
    <div className="connection" role="status" data-status={status}>
      <span className="connection-dot" aria-hidden="true" />
      {t(`connection.${status}`)}
    </div>
  );
}
