/**
 * Adding a phone for SMS codes: the number (and the password again when the
 * server asks for it, or a step-up when another factor is set up), then the
 * code texted to it; when it is the first factor, the backup codes follow,
 * shown once. A new code can be asked for after a minute.
 */
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { existingPasswordSchema } from '../../../shared/accounts.ts';
import { confirmSmsInput, phoneNumberSchema, type IssuedBackupCodes } from '../../../shared/mfa.ts';
import { useTRPCClient } from '../api/trpc.ts';
import { ResendCode } from '../auth/ResendCode.tsx';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { BackupCodesSheet } from './BackupCodesSheet.tsx';
import { useStepUp } from './StepUp.tsx';
import { asksForPassword, shownError } from './twoStep.ts';

type Step =
  | { kind: 'number'; needsPassword: boolean }
  | { kind: 'code'; number: string; sentAt: number }
  | { kind: 'codes'; codes: IssuedBackupCodes };

const numberSchema = z.object({ phone: phoneNumberSchema, currentPassword: z.string() });

export function SmsSetup({ onFinished, onCancel }: { onFinished: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const client = useTRPCClient();
  const { guard, dialog } = useStepUp();
  const [step, setStep] = useState<Step>({ kind: 'number', needsPassword: false });
  const [resent, setResent] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);
  // The last number asked for, so "send a new code" texts the same one.
  const asked = useRef<{ phone: string; currentPassword?: string } | null>(null);

  const begin = useMutation({
    mutationFn: (input: { phone: string; currentPassword?: string }) => {
      asked.current = input;
      return guard(() => client.mfa.sms.begin.mutate(input));
    },
    onSuccess: ({ number }) => setStep({ kind: 'code', number, sentAt: Date.now() }),
  });
  const resend = useMutation({
    mutationFn: () => client.mfa.sms.begin.mutate(asked.current!),
    onSuccess: ({ number }) => {
      setStep({ kind: 'code', number, sentAt: Date.now() });
      setResent(true);
    },
  });
  const confirm = useMutation({
    mutationFn: (code: string) => client.mfa.sms.confirm.mutate({ code }),
    onSuccess: ({ backupCodes }) => {
      if (backupCodes === null) onFinished(t('security.sms.enabled'));
      else setStep({ kind: 'codes', codes: backupCodes });
    },
  });

  useEffect(() => {
    headingRef.current?.focus();
  }, [step.kind]);

  const needsPassword = step.kind === 'number' && step.needsPassword;
  const numberForm = useAccountForm({
    formId: 'sms-number',
    schema: needsPassword ? numberSchema.extend({ currentPassword: existingPasswordSchema }) : numberSchema,
    initial: { phone: '', currentPassword: '' },
    error: begin.error,
  });
  const codeForm = useAccountForm({
    formId: 'sms-confirm',
    schema: confirmSmsInput,
    initial: { code: '' },
    error: confirm.error,
  });

  if (step.kind === 'codes') {
    return (
      <BackupCodesSheet
        codes={step.codes.codes}
        generatedAt={step.codes.generatedAt}
        onSaved={() => onFinished(t('security.sms.enabled'))}
      />
    );
  }

  const cancel = (
    <button type="button" className="button button-secondary" onClick={onCancel}>
      {t('dialog.cancel')}
    </button>
  );

  return (
    <div className="wizard" role="group" aria-labelledby="sms-setup-heading">
      <h3 id="sms-setup-heading" ref={headingRef} tabIndex={-1}>
        {t('security.sms.setupHeading')}
      </h3>
      {step.kind === 'number' ? (
        <form
          className="form form-narrow"
          noValidate
          onSubmit={numberForm.handleSubmit((data) => {
            if (begin.isPending) return;
            const input = needsPassword ? data : { phone: data.phone };
            begin.mutate(input, {
              // The first factor needs the password again: ask for it beside the number, without calling it an error.
              onError: (error) => {
                if (!needsPassword && asksForPassword(error)) {
                  begin.reset();
                  setStep({ kind: 'number', needsPassword: true });
                }
              },
            });
          })}
        >
          <TextField
            id={numberForm.fieldId('phone')}
            label={t('security.sms.phoneLabel')}
            type="tel"
            autoComplete="tel"
            inputMode="tel"
            autoFocus
            value={numberForm.values.phone}
            onChange={numberForm.set('phone')}
            error={numberForm.errorFor('phone')}
            hint={t('security.sms.phoneHint')}
          />
          {needsPassword && (
            <TextField
              id={numberForm.fieldId('currentPassword')}
              label={t('account.fields.currentPassword')}
              type="password"
              autoComplete="current-password"
              revealable
              value={numberForm.values.currentPassword}
              onChange={numberForm.set('currentPassword')}
              error={numberForm.errorFor('currentPassword')}
              hint={t('security.sms.passwordHint')}
            />
          )}
          <ErrorNotice
            error={
              numberForm.errorFor('phone') === undefined && numberForm.errorFor('currentPassword') === undefined
                ? shownError(begin.error)
                : null
            }
          />
          <div className="actions">
            {cancel}
            <SubmitButton
              busy={begin.isPending}
              label={t('security.sms.send')}
              busyLabel={t('security.sms.sending')}
              wide={false}
            />
          </div>
        </form>
      ) : (
        <>
          <form
            className="form form-narrow"
            noValidate
            onSubmit={codeForm.handleSubmit((data) => {
              if (!confirm.isPending) confirm.mutate(data.code);
            })}
          >
            <p>{t('security.sms.codeLead', { phone: step.number })}</p>
            <TextField
              id={codeForm.fieldId('code')}
              label={t('security.sms.codeLabel')}
              autoComplete="one-time-code"
              inputMode="numeric"
              autoFocus
              value={codeForm.values.code}
              onChange={codeForm.set('code')}
              error={codeForm.errorFor('code')}
            />
            <ErrorNotice error={codeForm.errorFor('code') === undefined ? confirm.error : null} />
            <div className="actions">
              {cancel}
              <SubmitButton
                busy={confirm.isPending}
                label={t('security.sms.confirm')}
                busyLabel={t('security.sms.confirming')}
                wide={false}
              />
            </div>
          </form>
          <ResendCode
            sentAt={step.sentAt}
            busy={resend.isPending}
            error={resend.error}
            sentMessage={resent ? t('account.secondStep.resent.sms') : null}
            onResend={() => resend.mutate()}
          />
        </>
      )}
      {dialog}
    </div>
  );
}
