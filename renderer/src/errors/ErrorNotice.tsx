import { useCallback } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError, type ErrorDescription } from './describeError.ts';

/** `describeError` with the current language's strings. */
export function useDescribeError(): (error: unknown) => ErrorDescription {
  const { t } = useTranslation();
  return useCallback((error: unknown) => describeError(error, (key) => t(key)), [t]);
}

/** The user-facing message for a failed call, announced to screen readers; nothing when there is no error. */
export function ErrorNotice({ error }: { error: unknown }) {
  const describe = useDescribeError();
  if (error === null || error === undefined) return null;
  return (
    <p className="error-notice" role="alert">
      {describe(error).message}
    </p>
  );
}
