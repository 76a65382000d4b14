import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useTRPC } from '../api/trpc.ts';

/** "Server 0.1.0 · SQLite" in the status bar; nothing until the server has answered. */
export function ServerSummary() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const info = useQuery(trpc.system.info.queryOptions());
  if (info.data === undefined) return null;
  return (
    <span className="server-summary">
      {t('connection.serverSummary', {
        version: info.data.version,
        database: t(`database.${info.data.database.engine}`),
      })}
    </span>
  );
}
