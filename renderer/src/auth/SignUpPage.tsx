import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate } from 'react-router';
import { PASSWORD_MIN_LENGTH, signUpInput } from '../../../shared/accounts.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { accountRoutes, readAccountState, type AccountScreenState } from './accountRoutes.ts';
import { AccountPage } from './AuthLayout.tsx';
import { browserDevice } from './device.ts';
import { carriedReturnPath, withReturnPath } from './returnPath.ts';

const signUpFields = signUpInput.pick({ displayName: true, email: true, password: true });

export function SignUpPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const navigate = useNavigate();
  const location = useLocation();
  const next = carriedReturnPath(location.search);
  const signUp = useMutation(trpc.auth.signUp.mutationOptions());
  const form = useAccountForm({
    formId: 'sign-up',
    schema: signUpFields,
    initial: { displayName: '', email: readAccountState(location.state).email ?? '', password: '' },
    error: signUp.error,
  });

  return (
    <AccountPage title={t('account.signUp.title')} lead={t('account.signUp.lead')}>
      <form
        className="form"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          if (signUp.isPending) return;
          signUp.mutate(
            { ...data, device: browserDevice() },
            {
              onSuccess: (answer) =>
                void navigate(withReturnPath(accountRoutes.verifyEmail, next), {
                  state: { email: answer.email, codeSentAt: Date.now(), why: 'signed_up' } satisfies AccountScreenState,
                }),
            },
          );
        })}
      >
        <TextField
          id={form.fieldId('displayName')}
          label={t('account.fields.displayName')}
          autoComplete="name"
          value={form.values.displayName}
          onChange={form.set('displayName')}
          error={form.errorFor('displayName')}
          hint={t('account.signUp.nameHint')}
        />
        <TextField
          id={form.fieldId('email')}
          label={t('account.fields.email')}
          type="email"
          autoComplete="email"
          inputMode="email"
          value={form.values.email}
          onChange={form.set('email')}
          error={form.errorFor('email')}
          hint={t('account.signUp.emailHint')}
        />
        <TextField
          id={form.fieldId('password')}
          label={t('account.fields.password')}
          type="password"
          autoComplete="new-password"
          revealable
          value={form.values.password}
          onChange={form.set('password')}
          error={form.errorFor('password')}
          hint={t('account.passwordHint', { min: PASSWORD_MIN_LENGTH })}
        />
        <ErrorNotice error={signUp.error} />
        <SubmitButton busy={signUp.isPending} label={t('account.signUp.submit')} busyLabel={t('account.signUp.busy')} />
      </form>
      <p className="account-switch">
        {t('account.signUp.haveAccount')}{' '}
        <Link to={withReturnPath(accountRoutes.signIn, next)}>{t('account.signUp.signIn')}</Link>
      </p>
    </AccountPage>
  );
}
