import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate } from 'react-router';
import { PASSWORD_MIN_LENGTH, resetPasswordInput } from '../../../shared/accounts.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { accountRoutes, readAccountState, type AccountScreenState } from './accountRoutes.ts';
import { AccountPage } from './AuthLayout.tsx';
import { ResendCodeToEmail } from './ResendCode.tsx';
import { carriedReturnPath, withReturnPath } from './returnPath.ts';

/** The mailed code and a new password. Success ends every session, so the user signs in afresh. */
export function ResetPasswordPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const navigate = useNavigate();
  const location = useLocation();
  const next = carriedReturnPath(location.search);
  const arrived = readAccountState(location.state);
  const knownEmail = arrived.email ?? null;
  const reset = useMutation(trpc.auth.resetPassword.mutationOptions());
  const resend = useMutation(trpc.auth.requestPasswordReset.mutationOptions());
  const form = useAccountForm({
    formId: 'reset-password',
    schema: resetPasswordInput,
    initial: { email: knownEmail ?? '', code: '', newPassword: '' },
    error: reset.error,
  });

  return (
    <AccountPage
      title={t('account.resetPassword.title')}
      lead={
        knownEmail === null
          ? t('account.resetPassword.leadNoEmail')
          : t('account.resetPassword.lead', { email: knownEmail })
      }
    >
      <form
        className="form"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          if (reset.isPending) return;
          reset.mutate(data, {
            onSuccess: () =>
              void navigate(withReturnPath(accountRoutes.signIn, next), {
                replace: true,
                state: { email: data.email, notice: 'password_reset' } satisfies AccountScreenState,
              }),
          });
        })}
      >
        {knownEmail === null ? (
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
        ) : (
          // For password managers: the account this new password belongs to.
          <input type="email" autoComplete="username" value={knownEmail} readOnly hidden />
        )}
        <TextField
          id={form.fieldId('code')}
          label={t('account.fields.code')}
          autoComplete="one-time-code"
          inputMode="numeric"
          value={form.values.code}
          onChange={form.set('code')}
          error={form.errorFor('code')}
          hint={t('account.code.hint')}
        />
        <TextField
          id={form.fieldId('newPassword')}
          label={t('account.fields.newPassword')}
          type="password"
          autoComplete="new-password"
          revealable
          value={form.values.newPassword}
          onChange={form.set('newPassword')}
          error={form.errorFor('newPassword')}
          hint={t('account.passwordHint', { min: PASSWORD_MIN_LENGTH })}
        />
        <p className="hint">{t('account.resetPassword.signsOutEverywhere')}</p>
        <ErrorNotice error={reset.error} />
        <SubmitButton
          busy={reset.isPending}
          label={t('account.resetPassword.submit')}
          busyLabel={t('account.resetPassword.busy')}
        />
      </form>
      <ResendCodeToEmail
        email={form.values.email}
        emailFieldId={form.fieldId('email')}
        initialSentAt={arrived.codeSentAt ?? null}
        mutation={resend}
        sentMessage={(email) => t('account.resetPassword.resent', { email })}
      />
      <p className="account-switch">
        <Link
          to={withReturnPath(accountRoutes.forgotPassword, next)}
          state={{ email: form.values.email.trim() } satisfies AccountScreenState}
        >
          {t('account.resetPassword.otherEmail')}
        </Link>
        <Link to={withReturnPath(accountRoutes.signIn, next)} state={{ email: form.values.email.trim() }}>
          {t('account.backToSignIn')}
        </Link>
      </p>
    </AccountPage>
  );
}
