/**
 * Step-up: some changes (adding or removing a second factor, new backup
 * codes, the default method) need a second factor proved within the last few
 * minutes. `useStepUp().guard(action)` runs the action; when the server
 * answers STEP_UP_REQUIRED it opens a dialog where the user proves one of the
 * methods the server offers this account (`mfa.status().methods`, the
 * default first: a passkey, an app code, a texted code, a mailed code for
 * accounts without a factor, or a backup code), then runs the action again. Closing the dialog gives the action up
 * (`StepUpCancelled`, which screens do not show as an error).
 */
import { startAuthentication } from '@simplewebauthn/browser';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import {
  codeInput,
  methodsDefaultFirst,
  secondFactorCodeSchema,
  type CodeMethod,
  type SecondFactorMethod,
} from '../auth/secondFactor.ts';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { WebAuthnErrorNotice } from './WebAuthnErrorNotice.tsx';
import { isStepUpRequired, StepUpCancelled } from './twoStep.ts';

interface Pending {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function useStepUp(): { guard: <T>(action: () => Promise<T>) => Promise<T>; dialog: ReactNode } {
  const [pending, setPending] = useState<Pending | null>(null);
  const guard = useCallback(async <T,>(action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      if (!isStepUpRequired(error)) throw error;
      await new Promise<void>((resolve, reject) => setPending({ resolve, reject }));
      return action();
    }
  }, []);
  const dialog = (
    <StepUpDialog
      open={pending !== null}
      onDone={() => {
        pending?.resolve();
        setPending(null);
      }}
      onCancel={() => {
        pending?.reject(new StepUpCancelled());
        setPending(null);
      }}
    />
  );
  return { guard, dialog };
}

function StepUpDialog({ open, onDone, onCancel }: { open: boolean; onDone: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      {open && <StepUpForm titleId={titleId} onDone={onDone} onCancel={onCancel} />}
    </dialog>
  );
}

function StepUpForm({ titleId, onDone, onCancel }: { titleId: string; onDone: () => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const status = useQuery(trpc.mfa.status.queryOptions());
  const methods = status.data === undefined ? [] : methodsDefaultFirst(status.data);
  const [chosen, setChosen] = useState<SecondFactorMethod | null>(null);
  const method = chosen ?? methods[0] ?? null;
  const [codeSent, setCodeSent] = useState<'email' | 'sms' | null>(null);

  const finish = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.mfa.pathKey() });
    onDone();
  };
  const stepUp = useMutation(trpc.mfa.stepUp.mutationOptions({ onSuccess: finish }));
  const sendCode = useMutation(
    trpc.mfa.sendStepUpCode.mutationOptions({ onSuccess: (_answer, input) => setCodeSent(input?.method ?? 'email') }),
  );
  const withPasskey = useMutation({
    mutationFn: async () => {
      const { challengeId, options } = await client.passkeys.stepUpOptions.mutate();
      const response = await startAuthentication({ optionsJSON: options });
      return client.passkeys.stepUp.mutate({ challengeId, response });
    },
    onSuccess: finish,
  });

  const codeMethod: CodeMethod = method === 'passkey' || method === null ? 'totp' : method;
  const schema = z.object({ code: secondFactorCodeSchema(codeMethod) });
  const form = useAccountForm({ formId: 'step-up', schema, initial: { code: '' }, error: stepUp.error });

  const choose = (next: SecondFactorMethod) => {
    setChosen(next);
    form.reset();
    stepUp.reset();
    withPasskey.reset();
  };

  return (
    <>
      <h2 id={titleId}>{t('security.stepUp.title')}</h2>
      <p>{t('security.stepUp.lead')}</p>
      {status.isPending && <p className="muted">{t('security.stepUp.loading')}</p>}
      <ErrorNotice error={status.error} />
      {methods.length > 1 && (
        <fieldset className="choice-group" role="radiogroup" aria-labelledby={`${titleId}-methods`}>
          <legend id={`${titleId}-methods`}>{t('security.stepUp.methodLegend')}</legend>
          <div className="choices">
            {methods.map((option) => (
              <label key={option} className="choice">
                <input
                  type="radio"
                  name="step-up-method"
                  value={option}
                  checked={method === option}
                  onChange={() => choose(option)}
                />
                {t(`security.stepUp.methods.${option}`)}
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {method === 'passkey' ? (
        <div className="form">
          <p>{t('security.stepUp.passkeyLead')}</p>
          <WebAuthnErrorNotice error={withPasskey.error} />
          <div className="dialog-actions">
            <button type="button" className="button button-secondary" onClick={onCancel}>
              {t('dialog.cancel')}
            </button>
            <button
              type="button"
              className="button"
              aria-disabled={withPasskey.isPending ? true : undefined}
              onClick={() => !withPasskey.isPending && withPasskey.mutate()}
            >
              {withPasskey.isPending ? t('security.stepUp.busy') : t('security.stepUp.usePasskey')}
            </button>
          </div>
        </div>
      ) : method !== null ? (
        <form
          className="form"
          noValidate
          onSubmit={form.handleSubmit((data) => {
            if (!stepUp.isPending) stepUp.mutate(codeInput(codeMethod, data.code));
          })}
        >
          {(method === 'email' || method === 'sms') && (
            <div>
              <FormNotice>
                {codeSent === method
                  ? t(`security.stepUp.codeSent.${method}`, { phone: status.data?.sms.number ?? '' })
                  : null}
              </FormNotice>
              <button
                type="button"
                className="button button-secondary"
                aria-disabled={sendCode.isPending ? true : undefined}
                onClick={() => !sendCode.isPending && sendCode.mutate({ method })}
              >
                {sendCode.isPending
                  ? t('security.stepUp.sending')
                  : codeSent === method
                    ? t('security.stepUp.sendAgain')
                    : t(`security.stepUp.sendCode.${method}`)}
              </button>
              <ErrorNotice error={sendCode.error} />
            </div>
          )}
          <TextField
            id={form.fieldId('code')}
            label={t(`security.stepUp.codeLabel.${codeMethod}`)}
            autoComplete="one-time-code"
            inputMode={codeMethod === 'backup_code' ? 'text' : 'numeric'}
            value={form.values.code}
            onChange={form.set('code')}
            error={form.errorFor('code')}
            autoFocus={method !== 'email' && method !== 'sms'}
          />
          <ErrorNotice error={stepUp.error} />
          <div className="dialog-actions">
            <button type="button" className="button button-secondary" onClick={onCancel}>
              {t('dialog.cancel')}
            </button>
            <SubmitButton
              busy={stepUp.isPending}
              label={t('security.stepUp.submit')}
              busyLabel={t('security.stepUp.busy')}
              wide={false}
            />
          </div>
        </form>
      ) : (
        <div className="dialog-actions">
          <button type="button" className="button button-secondary" onClick={onCancel}>
            {t('dialog.cancel')}
          </button>
        </div>
      )}
    </>
  );
}
