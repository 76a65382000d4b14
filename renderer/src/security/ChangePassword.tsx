/** Change the password; the server signs out every other device when it changes. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { changePasswordInput, PASSWORD_MIN_LENGTH } from '../../../shared/accounts.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';

export function ChangePassword() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const change = useMutation(trpc.auth.changePassword.mutationOptions());
  const [notice, setNotice] = useState<string | null>(null);
  const form = useAccountForm({
    formId: 'change-password',
    schema: changePasswordInput,
    initial: { currentPassword: '', newPassword: '' },
    error: change.error,
  });

  return (
    <section className="card" aria-labelledby="password-heading">
      <h2 id="password-heading">{t('security.password.heading')}</h2>
      <p className="muted">{t('security.password.lead')}</p>
      <form
        className="form form-narrow"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          if (change.isPending) return;
          setNotice(null);
          change.mutate(data, {
            onSuccess: ({ otherSessionsSignedOut }) => {
              form.reset();
              setNotice(
                otherSessionsSignedOut === 0
                  ? t('security.password.changed')
                  : t('security.password.changedSignedOut', { count: otherSessionsSignedOut }),
              );
              void queryClient.invalidateQueries({ queryKey: trpc.security.pathKey() });
            },
          });
        })}
      >
        <TextField
          id={form.fieldId('currentPassword')}
          label={t('account.fields.currentPassword')}
          type="password"
          autoComplete="current-password"
          revealable
          value={form.values.currentPassword}
          onChange={form.set('currentPassword')}
          error={form.errorFor('currentPassword')}
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
        <ErrorNotice error={change.error} />
        <FormNotice>{notice}</FormNotice>
        <div>
          <SubmitButton
            busy={change.isPending}
            label={t('security.password.submit')}
            busyLabel={t('security.password.busy')}
            wide={false}
          />
        </div>
      </form>
    </section>
  );
}
