/**
 * "Sign in with a passkey": passwordless, the device's screen lock or a
 * security key instead of email and password (`passkeys.signInOptions` →
 * the browser's WebAuthn → `passkeys.signIn`, which answers tokens as the
 * password path does).
 */
import { startAuthentication } from '@simplewebauthn/browser';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useTRPCClient } from '../api/trpc.ts';
import { WebAuthnErrorNotice } from '../security/WebAuthnErrorNotice.tsx';
import { useAuthSession } from './AuthContext.tsx';
import { browserDevice } from './device.ts';

export function PasskeySignIn() {
  const { t } = useTranslation();
  const client = useTRPCClient();
  const session = useAuthSession();
  const signIn = useMutation({
    mutationFn: async () => {
      const { challengeId, options } = await client.passkeys.signInOptions.mutate();
      const response = await startAuthentication({ optionsJSON: options });
      return client.passkeys.signIn.mutate({ challengeId, response, device: browserDevice() });
    },
    // The account layout then sends the user on, signed in.
    onSuccess: (tokens) => session.signedInWith(tokens),
  });
  return (
    <div className="passkey-sign-in">
      <p className="divider" aria-hidden="true">
        <span>{t('account.signIn.or')}</span>
      </p>
      <button
        type="button"
        className="button button-secondary button-block"
        aria-disabled={signIn.isPending ? true : undefined}
        onClick={() => !signIn.isPending && signIn.mutate()}
      >
        {signIn.isPending && <span className="spinner" aria-hidden="true" />}
        {signIn.isPending ? t('account.signIn.passkeyBusy') : t('account.signIn.passkey')}
      </button>
      <WebAuthnErrorNotice error={signIn.error} />
    </div>
  );
}
