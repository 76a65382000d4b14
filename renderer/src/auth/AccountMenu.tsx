/** The signed-in user in the shell header, and the way to sign out. */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useTRPC } from '../api/trpc.ts';
import { useDescribeError } from '../errors/ErrorNotice.tsx';
import { useAuthSession } from './AuthContext.tsx';
import { initialsOf } from './initials.ts';

export function AccountMenu() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const session = useAuthSession();
  const describe = useDescribeError();
  const me = useQuery(trpc.auth.me.queryOptions());
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess: () => session.signedOut({ kind: 'signed_out' }),
      onError: (error) => {
        // Already over on the server (revoked elsewhere): there is nothing left to end.
        if (describe(error).kind === 'UNAUTHENTICATED') session.signedOut({ kind: 'signed_out' });
      },
    }),
  );
  // Only a sign-out the server could not confirm is worth showing: the session is still alive there.
  const failure = signOut.error !== null && describe(signOut.error).kind !== 'UNAUTHENTICATED' ? signOut.error : null;

  return (
    <div className="account-menu">
      {me.data !== undefined && (
        <span className="account-name" title={me.data.email}>
          <span className="avatar" aria-hidden="true">
            {initialsOf(me.data.displayName)}
          </span>
          <span className="visually-hidden">{t('accountMenu.signedInAs')} </span>
          {me.data.displayName}
        </span>
      )}
      <button
        type="button"
        className="button button-quiet"
        aria-disabled={signOut.isPending ? true : undefined}
        aria-describedby={failure !== null ? 'sign-out-error' : undefined}
        onClick={() => {
          if (!signOut.isPending) signOut.mutate();
        }}
      >
        {signOut.isPending ? t('accountMenu.signingOut') : t('accountMenu.signOut')}
      </button>
      {failure !== null && (
        <p className="header-error" id="sign-out-error" role="alert">
          {t('accountMenu.signOutFailed', { reason: describe(failure).message })}
        </p>
      )}
    </div>
  );
}
