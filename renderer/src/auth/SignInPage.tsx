import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate } from 'react-router';
import { signInInput } from '../../../shared/accounts.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { accountRoutes, readAccountState, type AccountScreenState } from './accountRoutes.ts';
import { AccountPage } from './AuthLayout.tsx';
import { useAuthSession, useAuthState } from './AuthContext.tsx';
import { browserDevice } from './device.ts';
import { PasskeySignIn } from './PasskeySignIn.tsx';
import { carriedReturnPath, withReturnPath } from './returnPath.ts';
import type { SignInAnswer } from './secondFactor.ts';
import type { SignedOutReason } from './session.ts';

const signInFields = signInInput.pick({ email: true, password: true });

export function SignInPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const session = useAuthSession();
  const state = useAuthState();
  const navigate = useNavigate();
  const location = useLocation();
  const next = carriedReturnPath(location.search);
  const arrived = readAccountState(location.state);
  const signIn = useMutation(trpc.auth.signIn.mutationOptions());
  const form = useAccountForm({
    formId: 'sign-in',
    schema: signInFields,
    initial: { email: arrived.email ?? '', password: '' },
    error: signIn.error,
  });

  const notice = state.status === 'signed_out' ? signedOutNotice(state.reason, t) : null;

  return (
    <AccountPage title={t('account.signIn.title')} lead={t('account.signIn.lead')}>
      {/* What brought the user here, until they act on it. */}
      <FormNotice>
        {signIn.isIdle && (arrived.notice === 'password_reset' ? t('account.signIn.passwordReset') : notice)}
      </FormNotice>
      <form
        className="form"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          if (signIn.isPending) return;
          signIn.mutate(
            { ...data, device: browserDevice() },
            {
              onSuccess: (answer: SignInAnswer) => {
                const carried: AccountScreenState = { email: data.email, codeSentAt: Date.now() };
                switch (answer.status) {
                  case 'signed_in':
                    // The account layout now sends the user on to `next`.
                    session.signedInWith(answer.tokens);
                    return;
                  case 'email_verification_required':
                    void navigate(withReturnPath(accountRoutes.verifyEmail, next), {
                      state: { ...carried, email: answer.email, why: 'unverified' } satisfies AccountScreenState,
                    });
                    return;
                  case 'mfa_required':
                    void navigate(withReturnPath(accountRoutes.secondStep, next), {
                      state: { ...carried, challenge: answer } satisfies AccountScreenState,
                    });
                    return;
                }
              },
            },
          );
        })}
      >
        <TextField
          id={form.fieldId('email')}
          label={t('account.fields.email')}
          type="email"
          autoComplete="username"
          inputMode="email"
          value={form.values.email}
          onChange={form.set('email')}
          error={form.errorFor('email')}
        />
        <TextField
          id={form.fieldId('password')}
          label={t('account.fields.password')}
          type="password"
          autoComplete="current-password"
          revealable
          value={form.values.password}
          onChange={form.set('password')}
          error={form.errorFor('password')}
          labelAside={
            <Link
              className="field-link"
              to={withReturnPath(accountRoutes.forgotPassword, next)}
              state={{ email: form.values.email.trim() } satisfies AccountScreenState}
            >
              {t('account.signIn.forgot')}
            </Link>
          }
        />
        <ErrorNotice error={signIn.error} />
        <SubmitButton busy={signIn.isPending} label={t('account.signIn.submit')} busyLabel={t('account.signIn.busy')} />
      </form>
      <PasskeySignIn />
      <p className="account-switch">
        {t('account.signIn.noAccount')}{' '}
        <Link to={withReturnPath(accountRoutes.signUp, next)}>{t('account.signIn.createAccount')}</Link>
      </p>
    </AccountPage>
  );
}

function signedOutNotice(reason: SignedOutReason | null, t: ReturnType<typeof useTranslation>['t']): string | null {
  switch (reason?.kind) {
    case 'signed_out':
      return t('account.signIn.signedOut');
    case 'other_window':
      return t('account.signIn.otherWindow');
    case 'ended':
      return reason.message ?? t('account.signIn.sessionEnded');
    case undefined:
      return null;
  }
}
