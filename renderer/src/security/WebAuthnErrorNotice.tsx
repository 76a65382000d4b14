import { useTranslation } from 'react-i18next';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { shownError, webAuthnFailure } from './twoStep.ts';

/** A failed passkey ceremony in the user's words: the browser's side (cancelled, unsupported) or the server's answer. */
export function WebAuthnErrorNotice({ error }: { error: unknown }) {
  const { t } = useTranslation();
  const failure = webAuthnFailure(error);
  if (failure === null) return <ErrorNotice error={shownError(error)} />;
  return (
    <p className="error-notice" role="alert">
      {t(`security.passkeys.failure.${failure}`)}
    </p>
  );
}
