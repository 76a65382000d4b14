/**
 * Two-step verification: the authenticator app (set up, remove), the backup
 * codes (how many are left, make new ones) and passkeys. Removing the app
 * and new backup codes need step-up (useStepUp).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { IssuedBackupCodes } from '../../../shared/mfa.ts';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice } from '../forms/fields.tsx';
import { ConfirmDialog } from '../shell/ConfirmDialog.tsx';
import { BackupCodesSheet } from './BackupCodesSheet.tsx';
import { Passkeys } from './Passkeys.tsx';
import { useStepUp } from './StepUp.tsx';
import { TotpSetup } from './TotpSetup.tsx';
import { shownError } from './twoStep.ts';

type Confirming = 'remove-app' | 'new-codes' | null;

export function TwoStepVerification() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const { guard, dialog } = useStepUp();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const status = useQuery(trpc.mfa.status.queryOptions());
  const [settingUp, setSettingUp] = useState(false);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [freshCodes, setFreshCodes] = useState<IssuedBackupCodes | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
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
            {settingUp ? (
              <TotpSetup
                onCancel={() => {
                  setSettingUp(false);
                  refresh();
                }}
                onFinished={(message) => {
                  setSettingUp(false);
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
                  onClick={() => {
                    setNotice(null);
                    setSettingUp(true);
                  }}
                >
                  {t('security.totp.setUp')}
                </button>
              </p>
            )}
          </div>
          {totpOn && !settingUp && (
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
        title={
          confirming === 'remove-app' ? t('security.totp.confirmRemove.title') : t('security.backupCodes.confirm.title')
        }
        body={
          <p>
            {confirming === 'remove-app'
              ? t('security.totp.confirmRemove.body')
              : t('security.backupCodes.confirm.body')}
          </p>
        }
        confirmLabel={
          confirming === 'remove-app'
            ? t('security.totp.confirmRemove.confirm')
            : t('security.backupCodes.confirm.confirm')
        }
        busyLabel={t('security.twoStep.working')}
        busy={removeApp.isPending || regenerate.isPending}
        error={shownError(confirming === 'remove-app' ? removeApp.error : regenerate.error)}
        onCancel={() => setConfirming(null)}
        onConfirm={() => (confirming === 'remove-app' ? removeApp.mutate() : regenerate.mutate())}
      />
      {dialog}
    </section>
  );
}
