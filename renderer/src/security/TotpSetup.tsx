/**
 * Setting up an authenticator app, step by step: the password again when
 * the server asks for it (or a step-up, for accounts without a password),
 * then the QR code and the secret for typing in, then the app's first code;
 * the first time, the backup codes follow, shown once.
 */
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { existingPasswordSchema } from '../../../shared/accounts.ts';
import { confirmTotpInput, type IssuedBackupCodes, type TotpEnrollment } from '../../../shared/mfa.ts';
import { useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { BackupCodesSheet } from './BackupCodesSheet.tsx';
import { useStepUp } from './StepUp.tsx';
import { asksForPassword, groupSecret, shownError, svgDataUrl } from './twoStep.ts';

type Step =
  { kind: 'password' } | { kind: 'scan'; enrollment: TotpEnrollment } | { kind: 'codes'; codes: IssuedBackupCodes };

const passwordSchema = z.object({ currentPassword: existingPasswordSchema });

export function TotpSetup({ onFinished, onCancel }: { onFinished: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const client = useTRPCClient();
  const { guard, dialog } = useStepUp();
  const [step, setStep] = useState<Step | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const begin = useMutation({
    mutationFn: (currentPassword?: string) =>
      guard(() => client.mfa.totp.begin.mutate(currentPassword === undefined ? {} : { currentPassword })),
    onSuccess: (enrollment) => setStep({ kind: 'scan', enrollment }),
  });
  const confirm = useMutation({
    mutationFn: (code: string) => client.mfa.totp.confirm.mutate({ code }),
    onSuccess: ({ backupCodes }) => {
      if (backupCodes === null) onFinished(t('security.totp.enabled'));
      else setStep({ kind: 'codes', codes: backupCodes });
    },
  });

  // Start at once: the server says whether it wants the password.
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    begin.mutate(undefined, {
      onError: (error) => {
        if (asksForPassword(error)) {
          begin.reset();
          setStep({ kind: 'password' });
        }
      },
    });
  }, [begin]);

  useEffect(() => {
    headingRef.current?.focus();
  }, [step?.kind]);

  const passwordForm = useAccountForm({
    formId: 'totp-password',
    schema: passwordSchema,
    initial: { currentPassword: '' },
    error: begin.error,
  });
  const codeForm = useAccountForm({
    formId: 'totp-confirm',
    schema: confirmTotpInput,
    initial: { code: '' },
    error: confirm.error,
  });

  if (step?.kind === 'codes') {
    return (
      <BackupCodesSheet
        codes={step.codes.codes}
        generatedAt={step.codes.generatedAt}
        onSaved={() => onFinished(t('security.totp.enabled'))}
      />
    );
  }

  const cancel = (
    <button type="button" className="button button-secondary" onClick={onCancel}>
      {t('dialog.cancel')}
    </button>
  );

  return (
    <div className="wizard" role="group" aria-labelledby="totp-setup-heading">
      <h3 id="totp-setup-heading" ref={headingRef} tabIndex={-1}>
        {t('security.totp.setupHeading')}
      </h3>
      {step === null && (
        <>
          {begin.isPending && <p className="muted">{t('security.totp.starting')}</p>}
          <ErrorNotice error={shownError(begin.error)} />
          {!begin.isPending && <div className="actions">{cancel}</div>}
        </>
      )}
      {step?.kind === 'password' && (
        <form
          className="form form-narrow"
          noValidate
          onSubmit={passwordForm.handleSubmit((data) => {
            if (!begin.isPending) begin.mutate(data.currentPassword);
          })}
        >
          <p>{t('security.totp.passwordLead')}</p>
          <TextField
            id={passwordForm.fieldId('currentPassword')}
            label={t('account.fields.currentPassword')}
            type="password"
            autoComplete="current-password"
            revealable
            autoFocus
            value={passwordForm.values.currentPassword}
            onChange={passwordForm.set('currentPassword')}
            error={passwordForm.errorFor('currentPassword')}
          />
          <ErrorNotice
            error={passwordForm.errorFor('currentPassword') === undefined ? shownError(begin.error) : null}
          />
          <div className="actions">
            {cancel}
            <SubmitButton
              busy={begin.isPending}
              label={t('security.totp.continue')}
              busyLabel={t('security.totp.checking')}
              wide={false}
            />
          </div>
        </form>
      )}
      {step?.kind === 'scan' && (
        <form
          className="form"
          noValidate
          onSubmit={codeForm.handleSubmit((data) => {
            if (!confirm.isPending) confirm.mutate(data.code);
          })}
        >
          <ol className="steps">
            <li>{t('security.totp.scanStep')}</li>
            <li>{t('security.totp.codeStep')}</li>
          </ol>
          <div className="totp-enrollment">
            <img
              className="qr-code"
              src={svgDataUrl(step.enrollment.qrSvg)}
              width={200}
              height={200}
              alt={t('security.totp.qrAlt')}
            />
            <div>
              <p>{t('security.totp.manual')}</p>
              <p>
                <span className="muted">{t('security.totp.secretLabel')}</span>{' '}
                <code
                  className="secret"
                  aria-label={t('security.totp.secretAria')}
                  data-secret={step.enrollment.secret}
                >
                  {groupSecret(step.enrollment.secret)}
                </code>
              </p>
            </div>
          </div>
          <TextField
            id={codeForm.fieldId('code')}
            label={t('security.totp.codeLabel')}
            autoComplete="one-time-code"
            inputMode="numeric"
            value={codeForm.values.code}
            onChange={codeForm.set('code')}
            error={codeForm.errorFor('code')}
            hint={t('security.totp.codeHint')}
          />
          <ErrorNotice error={codeForm.errorFor('code') === undefined ? confirm.error : null} />
          <div className="actions">
            {cancel}
            <SubmitButton
              busy={confirm.isPending}
              label={t('security.totp.confirm')}
              busyLabel={t('security.totp.confirming')}
              wide={false}
            />
          </div>
        </form>
      )}
      {dialog}
    </div>
  );
}
