import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router';
import { verifyEmailInput } from '../../../shared/accounts.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { accountRoutes, readAccountState } from './accountRoutes.ts';
import { useAuthSession } from './AuthContext.tsx';
import { AccountPage } from './AuthLayout.tsx';
import { browserDevice } from './device.ts';
import { ResendCodeToEmail } from './ResendCode.tsx';
import { carriedReturnPath, withReturnPath } from './returnPath.ts';

/** Code entry after sign-up (or a sign-in with an unconfirmed address); success signs the user in here. */
export function VerifyEmailPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const session = useAuthSession();
  const location = useLocation();
  const next = carriedReturnPath(location.search);
  const arrived = readAccountState(location.state);
  // Known from the previous screen: shown, not asked for again.
  const knownEmail = arrived.email ?? null;
  const verify = useMutation(trpc.auth.verifyEmail.mutationOptions());
  const resend = useMutation(trpc.auth.resendVerification.mutationOptions());
  const form = useAccountForm({
    formId: 'verify-email',
    schema: verifyEmailInput,
    initial: { email: knownEmail ?? '', code: '' },
    error: verify.error,
  });

  const lead =
    knownEmail === null
      ? t('account.verifyEmail.leadNoEmail')
      : arrived.why === 'unverified'
        ? t('account.verifyEmail.leadUnverified', { email: knownEmail })
        : t('account.verifyEmail.lead', { email: knownEmail });

  return (
    <AccountPage title={t('account.verifyEmail.title')} lead={lead}>
      <form
        className="form"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          if (verify.isPending) return;
          verify.mutate(
            { ...data, device: browserDevice() },
            // The account layout then sends the user on, signed in.
            { onSuccess: (tokens) => session.signedInWith(tokens) },
          );
        })}
      >
        {knownEmail === null && (
          <TextField
            id={form.fieldId('email')}
            label={t('account.fields.email')}
            type="email"
            autoComplete="email"
            inputMode="email"
            value={form.values.email}
            onChange={form.set('email')}
            error={form.errorFor('email')}
          />
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
        <ErrorNotice error={verify.error} />
        <SubmitButton
          busy={verify.isPending}
          label={t('account.verifyEmail.submit')}
          busyLabel={t('account.verifyEmail.busy')}
        />
      </form>
      <ResendCodeToEmail
        email={form.values.email}
        emailFieldId={form.fieldId('email')}
        initialSentAt={arrived.codeSentAt ?? null}
        mutation={resend}
        sentMessage={(email) => t('account.verifyEmail.resent', { email })}
      />
      <p className="account-switch">
        <Link to={withReturnPath(accountRoutes.signIn, next)} state={{ email: form.values.email.trim() }}>
          {t('account.backToSignIn')}
        </Link>
      </p>
    </AccountPage>
  );
}
