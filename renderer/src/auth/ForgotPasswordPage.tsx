import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate } from 'react-router';
import { requestPasswordResetInput } from '../../../shared/accounts.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { accountRoutes, readAccountState, type AccountScreenState } from './accountRoutes.ts';
import { AccountPage } from './AuthLayout.tsx';
import { carriedReturnPath, withReturnPath } from './returnPath.ts';

export function ForgotPasswordPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const navigate = useNavigate();
  const location = useLocation();
  const next = carriedReturnPath(location.search);
  const request = useMutation(trpc.auth.requestPasswordReset.mutationOptions());
  const form = useAccountForm({
    formId: 'forgot-password',
    schema: requestPasswordResetInput,
    initial: { email: readAccountState(location.state).email ?? '' },
    error: request.error,
  });

  return (
    <AccountPage title={t('account.forgotPassword.title')} lead={t('account.forgotPassword.lead')}>
      <form
        className="form"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          if (request.isPending) return;
          request.mutate(data, {
            onSuccess: () =>
              void navigate(withReturnPath(accountRoutes.resetPassword, next), {
                state: { email: data.email, codeSentAt: Date.now() } satisfies AccountScreenState,
              }),
          });
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
        <ErrorNotice error={request.error} />
        <SubmitButton
          busy={request.isPending}
          label={t('account.forgotPassword.submit')}
          busyLabel={t('account.forgotPassword.busy')}
        />
      </form>
      <p className="account-switch">
        <Link to={withReturnPath(accountRoutes.signIn, next)} state={{ email: form.values.email.trim() }}>
          {t('account.backToSignIn')}
        </Link>
      </p>
    </AccountPage>
  );
}
