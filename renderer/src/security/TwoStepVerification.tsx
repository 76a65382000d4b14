/**
 * Two-step verification: the authenticator app and the phone for SMS codes
 * (set up, remove), passkeys and security keys, the method sign-ins offer
 * first, and the backup codes (how many are left, make new ones). Changing
 * an existing set-up needs step-up (useStepUp).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { defaultableMethods, type DefaultableMethod, type IssuedBackupCodes } from '../../../shared/mfa.ts';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice } from '../forms/fields.tsx';
import { ConfirmDialog } from '../shell/ConfirmDialog.tsx';
import { BackupCodesSheet } from './BackupCodesSheet.tsx';
import { Passkeys } from './Passkeys.tsx';
import { SmsSetup } from './SmsSetup.tsx';
import { useStepUp } from './StepUp.tsx';
import { TotpSetup } from './TotpSetup.tsx';
import { shownError } from './twoStep.ts';

type Confirming = 'remove-app' | 'remove-phone' | 'new-codes' | null;

export function TwoStepVerification() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const { guard, dialog } = useStepUp();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const status = useQuery(trpc.mfa.status.queryOptions());
  const [settingUp, setSettingUp] = useState<'app' | 'phone' | null>(null);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [freshCodes, setFreshCodes] = useState<IssuedBackupCodes | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [choosing, setChoosing] = useState<DefaultableMethod | null>(null);
  const dateFormat = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium' });

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.mfa.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.security.pathKey() });
  };
  const done = (message: string) => {
    setNotice(message);
    refresh();
    headingRef.current?.focus();
  };
  const removeApp = useMutation({
    mutationFn: () => guard(() => client.mfa.totp.remove.mutate()),
    onSuccess: () => {
      setConfirming(null);
      done(t('security.totp.removed'));
    },
  });
  const removePhone = useMutation({
    mutationFn: () => guard(() => client.mfa.sms.remove.mutate()),
    onSuccess: () => {
      setConfirming(null);
      done(t('security.sms.removed'));
    },
  });
  const setDefault = useMutation({
    mutationFn: (method: DefaultableMethod) => guard(() => client.mfa.setDefault.mutate({ method })),
    onSuccess: async () => {
      // Settled from the server's status before the radio leaves its pending state.
      await queryClient.invalidateQueries({ queryKey: trpc.mfa.pathKey() });
      done(t('security.defaultMethod.saved'));
    },
  });
  const regenerate = useMutation({
    mutationFn: () => guard(() => client.mfa.backupCodes.regenerate.mutate()),
    onSuccess: (codes) => {
      setConfirming(null);
      setFreshCodes(codes);
      refresh();
    },
  });

  const data = status.data;
  const totpOn = data?.totp.enabled === true;
  const phoneOn = data !== undefined && data.sms.number !== null;
  const choosable = data === undefined ? [] : defaultableMethods.filter((m) => data.methods.includes(m));
  const confirmText = {
    'remove-app': 'security.totp.confirmRemove',
    'remove-phone': 'security.sms.confirmRemove',
    'new-codes': 'security.backupCodes.confirm',
  } as const;
  const confirmAction = { 'remove-app': removeApp, 'remove-phone': removePhone, 'new-codes': regenerate };

  return (
    <section className="card" aria-labelledby="two-step-heading">
      <h2 id="two-step-heading" ref={headingRef} tabIndex={-1}>
        {t('security.twoStep.heading')}
      </h2>
      <p className="muted">
        {data === undefined || !data.requiredAtEverySignIn
          ? t('security.twoStep.leadOff')
          : t('security.twoStep.leadOn')}
      </p>
      <FormNotice>{notice}</FormNotice>
      {status.isPending && <p className="muted">{t('security.twoStep.loading')}</p>}
      <ErrorNotice error={status.error} />
      {data !== undefined && (
        <>
          <div className="subsection">
            <h3>{t('security.totp.heading')}</h3>
            <p className="status-line">
              <span className={totpOn ? 'badge badge-success' : 'badge badge-muted'}>
                {totpOn ? t('security.twoStep.on') : t('security.twoStep.off')}
              </span>{' '}
              {totpOn && data.totp.enabledAt !== null
                ? t('security.totp.onSince', { when: dateFormat.format(data.totp.enabledAt) })
                : t('security.totp.offLead')}
            </p>
            {settingUp === 'app' ? (
              <TotpSetup
                onCancel={() => {
                  setSettingUp(null);
                  refresh();
                }}
                onFinished={(message) => {
                  setSettingUp(null);
                  done(message);
                }}
              />
            ) : totpOn ? (
              <p>
                <button
                  type="button"
                  className="button button-secondary"
                  onClick={() => {
                    removeApp.reset();
                    setConfirming('remove-app');
                  }}
                >
                  {t('security.totp.remove')}
                </button>
              </p>
            ) : (
              <p>
                <button
                  type="button"
                  className="button"
                  disabled={settingUp !== null}
                  onClick={() => {
                    setNotice(null);
                    setSettingUp('app');
                  }}
                >
                  {t('security.totp.setUp')}
                </button>
              </p>
            )}
          </div>
          <div className="subsection">
            <h3>{t('security.sms.heading')}</h3>
            <p className="status-line">
              <span className={phoneOn ? 'badge badge-success' : 'badge badge-muted'}>
                {phoneOn ? t('security.twoStep.on') : t('security.twoStep.off')}
              </span>{' '}
              {phoneOn && data.sms.enabledAt !== null
                ? t('security.sms.onSince', { phone: data.sms.number, when: dateFormat.format(data.sms.enabledAt) })
                : data.sms.available
                  ? t('security.sms.offLead')
                  : t('security.sms.unavailable')}
            </p>
            {data.sms.provider === 'outbox' && <p className="muted">{t('security.sms.devOutbox')}</p>}
            {settingUp === 'phone' ? (
              <SmsSetup
                onCancel={() => {
                  setSettingUp(null);
                  refresh();
                }}
                onFinished={(message) => {
                  setSettingUp(null);
                  done(message);
                }}
              />
            ) : phoneOn ? (
              <p>
                <button
                  type="button"
                  className="button button-secondary"
                  onClick={() => {
                    removePhone.reset();
                    setConfirming('remove-phone');
                  }}
                >
                  {t('security.sms.remove')}
                </button>
              </p>
            ) : (
              data.sms.available && (
                <p>
                  <button
                    type="button"
                    className="button button-secondary"
                    disabled={settingUp !== null}
                    onClick={() => {
                      setNotice(null);
                      setSettingUp('phone');
                    }}
                  >
                    {t('security.sms.setUp')}
                  </button>
                </p>
              )
            )}
          </div>
          {choosable.length > 1 && settingUp === null && (
            <div className="subsection">
              <h3 id="default-method-heading">{t('security.defaultMethod.heading')}</h3>
              <p className="muted">{t('security.defaultMethod.lead')}</p>
              <fieldset className="choice-group" role="radiogroup" aria-labelledby="default-method-heading">
                <div className="choices">
                  {choosable.map((method) => (
                    <label key={method} className="choice">
                      <input
                        type="radio"
                        name="default-method"
                        value={method}
                        // The choice shows at once; the server's answer (or an error) settles it.
                        checked={(choosing ?? data.defaultMethod) === method}
                        disabled={setDefault.isPending}
                        onChange={() => {
                          setNotice(null);
                          setChoosing(method);
                          setDefault.mutate(method, { onSettled: () => setChoosing(null) });
                        }}
                      />
                      {t(`security.stepUp.methods.${method}`)}
                    </label>
                  ))}
                </div>
              </fieldset>
              <ErrorNotice error={shownError(setDefault.error)} />
            </div>
          )}
          {data.requiredAtEverySignIn && settingUp === null && (
            <div className="subsection">
              <h3>{t('security.backupCodes.heading')}</h3>
              {freshCodes !== null ? (
                <BackupCodesSheet
                  codes={freshCodes.codes}
                  generatedAt={freshCodes.generatedAt}
                  onSaved={() => {
                    setFreshCodes(null);
                    done(t('security.backupCodes.regenerated'));
                  }}
                />
              ) : (
                <>
                  <p className={data.backupCodes.remaining <= 3 ? 'warning-text' : undefined}>
                    {t('security.backupCodes.remaining', { count: data.backupCodes.remaining })}
                  </p>
                  <p>
                    <button
                      type="button"
                      className="button button-secondary"
                      onClick={() => {
                        regenerate.reset();
                        setNotice(null);
                        setConfirming('new-codes');
                      }}
                    >
                      {t('security.backupCodes.regenerate')}
                    </button>
                  </p>
                </>
              )}
            </div>
          )}
        </>
      )}
      <Passkeys />
      <ConfirmDialog
        open={confirming !== null}
        title={confirming === null ? '' : t(`${confirmText[confirming]}.title`)}
        body={<p>{confirming === null ? null : t(`${confirmText[confirming]}.body`)}</p>}
        confirmLabel={confirming === null ? '' : t(`${confirmText[confirming]}.confirm`)}
        busyLabel={t('security.twoStep.working')}
        busy={confirming !== null && confirmAction[confirming].isPending}
        error={confirming === null ? null : shownError(confirmAction[confirming].error)}
        onCancel={() => setConfirming(null)}
        onConfirm={() => confirming !== null && confirmAction[confirming].mutate()}
      />
      {dialog}
    </section>
  );
}
