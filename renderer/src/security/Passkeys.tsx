/**
 * Passkeys: sign in without a password (and prove a second factor) with the
 * device's screen lock or a security key. Add one (named), rename, remove
 * (which needs step-up).
 */
import { startRegistration } from '@simplewebauthn/browser';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { passkeyNameSchema, type PasskeyView } from '../../../shared/passkeys.ts';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { ConfirmDialog } from '../shell/ConfirmDialog.tsx';
import { useStepUp } from './StepUp.tsx';
import { shownError } from './twoStep.ts';
import { WebAuthnErrorNotice } from './WebAuthnErrorNotice.tsx';

const nameSchema = z.object({ name: passkeyNameSchema });

export function Passkeys() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const { guard, dialog } = useStepUp();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const list = useQuery(trpc.passkeys.list.queryOptions());
  const [adding, setAdding] = useState(false);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [removing, setRemoving] = useState<PasskeyView | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const dateFormat = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium' });

  const changed = (message: string) => {
    setNotice(message);
    void queryClient.invalidateQueries({ queryKey: trpc.passkeys.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.mfa.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.security.pathKey() });
  };

  const add = useMutation({
    mutationFn: async (name: string) => {
      const { challengeId, options } = await guard(() =>
        client.passkeys.registrationOptions.mutate({ kind: 'passkey' }),
      );
      const response = await startRegistration({ optionsJSON: options });
      return client.passkeys.register.mutate({ challengeId, response, name });
    },
    onSuccess: (passkey) => {
      setAdding(false);
      addForm.reset();
      changed(t('security.passkeys.added', { name: passkey.name }));
      headingRef.current?.focus();
    },
  });
  const addForm = useAccountForm({
    formId: 'add-passkey',
    schema: nameSchema,
    initial: { name: '' },
    error: add.error,
  });
  const remove = useMutation({
    mutationFn: (passkey: PasskeyView) => guard(() => client.passkeys.remove.mutate({ id: passkey.id })),
    onSuccess: (_, passkey) => {
      setRemoving(null);
      changed(t('security.passkeys.removed', { name: passkey.name }));
      headingRef.current?.focus();
    },
  });

  const passkeys = list.data ?? [];

  return (
    <div className="subsection">
      <h3 id="passkeys-heading" ref={headingRef} tabIndex={-1}>
        {t('security.passkeys.heading')}
      </h3>
      <p className="muted">{t('security.passkeys.lead')}</p>
      <FormNotice>{notice}</FormNotice>
      {list.isPending && <p className="muted">{t('security.passkeys.loading')}</p>}
      <ErrorNotice error={list.error} />
      {list.data !== undefined &&
        (passkeys.length === 0 ? (
          <p>{t('security.passkeys.none')}</p>
        ) : (
          <ul className="item-list" aria-labelledby="passkeys-heading">
            {passkeys.map((passkey) => (
              <li key={passkey.id} className="item">
                {renaming === passkey.id ? (
                  <RenamePasskey
                    passkey={passkey}
                    onDone={(name) => {
                      setRenaming(null);
                      if (name !== null) changed(t('security.passkeys.renamed', { name }));
                    }}
                  />
                ) : (
                  <>
                    <div className="item-main">
                      <p className="item-title">
                        {passkey.name}
                        <span className="badge badge-muted">{t(`security.passkeys.kind.${passkey.kind}`)}</span>
                        {passkey.synced && <span className="badge badge-muted">{t('security.passkeys.synced')}</span>}
                      </p>
                      <p className="item-meta">
                        {[
                          t('security.passkeys.createdAt', { when: dateFormat.format(passkey.createdAt) }),
                          passkey.lastUsedAt === null
                            ? t('security.passkeys.neverUsed')
                            : t('security.passkeys.lastUsed', { when: dateFormat.format(passkey.lastUsedAt) }),
                        ].join(' · ')}
                      </p>
                    </div>
                    <div className="item-actions">
                      <button
                        type="button"
                        className="button button-secondary button-small"
                        aria-label={t('security.passkeys.renameNamed', { name: passkey.name })}
                        onClick={() => {
                          setNotice(null);
                          setRenaming(passkey.id);
                        }}
                      >
                        {t('security.passkeys.rename')}
                      </button>
                      <button
                        type="button"
                        className="button button-secondary button-small"
                        aria-label={t('security.passkeys.removeNamed', { name: passkey.name })}
                        onClick={() => {
                          remove.reset();
                          setRemoving(passkey);
                        }}
                      >
                        {t('security.passkeys.remove')}
                      </button>
                    </div>
                  </>
                )}
              </li>
            ))}
          </ul>
        ))}
      {adding ? (
        <form
          className="form form-narrow"
          noValidate
          aria-labelledby="add-passkey-heading"
          onSubmit={addForm.handleSubmit((data) => {
            if (!add.isPending) add.mutate(data.name);
          })}
        >
          <h4 id="add-passkey-heading">{t('security.passkeys.addHeading')}</h4>
          <TextField
            id={addForm.fieldId('name')}
            label={t('security.passkeys.nameLabel')}
            autoComplete="off"
            autoFocus
            value={addForm.values.name}
            onChange={addForm.set('name')}
            error={addForm.errorFor('name')}
            hint={t('security.passkeys.nameHint')}
          />
          <WebAuthnErrorNotice error={addForm.errorFor('name') === undefined ? add.error : null} />
          <div className="actions">
            <button
              type="button"
              className="button button-secondary"
              onClick={() => {
                setAdding(false);
                add.reset();
              }}
            >
              {t('dialog.cancel')}
            </button>
            <SubmitButton
              busy={add.isPending}
              label={t('security.passkeys.create')}
              busyLabel={t('security.passkeys.creating')}
              wide={false}
            />
          </div>
        </form>
      ) : (
        <p>
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              setNotice(null);
              add.reset();
              setAdding(true);
            }}
          >
            {t('security.passkeys.add')}
          </button>
        </p>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={t('security.passkeys.confirmRemove.title', { name: removing?.name ?? '' })}
        body={<p>{t('security.passkeys.confirmRemove.body')}</p>}
        confirmLabel={t('security.passkeys.confirmRemove.confirm')}
        busyLabel={t('security.passkeys.removing')}
        busy={remove.isPending}
        error={shownError(remove.error)}
        onCancel={() => setRemoving(null)}
        onConfirm={() => removing !== null && remove.mutate(removing)}
      />
      {dialog}
    </div>
  );
}

function RenamePasskey({ passkey, onDone }: { passkey: PasskeyView; onDone: (name: string | null) => void }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const rename = useMutation(trpc.passkeys.rename.mutationOptions({ onSuccess: (view) => onDone(view.name) }));
  const form = useAccountForm({
    formId: `rename-${passkey.id.slice(0, 16)}`,
    schema: nameSchema,
    initial: { name: passkey.name },
    error: rename.error,
  });
  return (
    <form
      className="form form-narrow item-main"
      noValidate
      onSubmit={form.handleSubmit((data) => {
        if (!rename.isPending) rename.mutate({ id: passkey.id, name: data.name });
      })}
    >
      <TextField
        id={form.fieldId('name')}
        label={t('security.passkeys.newNameLabel', { name: passkey.name })}
        autoComplete="off"
        autoFocus
        value={form.values.name}
        onChange={form.set('name')}
        error={form.errorFor('name')}
      />
      <ErrorNotice error={form.errorFor('name') === undefined ? rename.error : null} />
      <div className="actions">
        <button type="button" className="button button-secondary button-small" onClick={() => onDone(null)}>
          {t('dialog.cancel')}
        </button>
        <SubmitButton
          busy={rename.isPending}
          label={t('security.passkeys.save')}
          busyLabel={t('security.passkeys.saving')}
          wide={false}
        />
      </div>
    </form>
  );
}
