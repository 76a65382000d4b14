/**
 * Where the account is signed in now: each device with its place, IP and
 * last activity, this one marked; any other can be signed out (after a
 * confirmation), or all of them at once.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { AppRouter } from '../../../server/router.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice } from '../forms/fields.tsx';
import { useNow } from '../settings/useNow.ts';
import { ConfirmDialog } from '../shell/ConfirmDialog.tsx';
import { relativeTime } from './relativeTime.ts';

type SessionView = inferRouterOutputs<AppRouter>['security']['sessions'][number];

type Confirming = { kind: 'one'; session: SessionView } | { kind: 'others'; count: number } | null;

export function SignedInDevices() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow(30_000);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const sessions = useQuery(trpc.security.sessions.queryOptions());
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const afterChange = (message: string) => {
    setConfirming(null);
    setNotice(message);
    // The row that had focus may be gone: continue from the section's heading.
    headingRef.current?.focus();
    void queryClient.invalidateQueries({ queryKey: trpc.security.pathKey() });
  };
  const revokeOne = useMutation(trpc.security.revokeSession.mutationOptions());
  const revokeOthers = useMutation(trpc.security.revokeOtherSessions.mutationOptions());

  const list = [...(sessions.data ?? [])].sort((a, b) => Number(b.current) - Number(a.current));
  const others = list.filter((session) => !session.current);
  const dateFormat = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });

  return (
    <section className="card" aria-labelledby="devices-heading">
      <h2 id="devices-heading" ref={headingRef} tabIndex={-1}>
        {t('security.devices.heading')}
      </h2>
      <p className="muted">{t('security.devices.lead')}</p>
      <FormNotice>{notice}</FormNotice>
      {sessions.isPending && <p className="muted">{t('security.devices.loading')}</p>}
      <ErrorNotice error={sessions.error} />
      {list.length > 0 && (
        <ul className="item-list" aria-labelledby="devices-heading">
          {list.map((session) => {
            const active = session.current ? null : relativeTime(session.lastSeenAt, now, i18n.language);
            return (
              <li key={session.id} className="item" data-current={session.current || undefined}>
                <div className="item-main">
                  <p className="item-title">
                    {session.deviceLabel}
                    {session.current && <span className="badge">{t('security.devices.thisDevice')}</span>}
                  </p>
                  <p className="item-meta">
                    {[
                      session.location ?? t('security.devices.unknownPlace'),
                      t('security.devices.ip', { ip: session.ip }),
                      active === null
                        ? t('security.devices.activeNow')
                        : t('security.devices.lastActive', { when: active }),
                    ].join(' · ')}
                  </p>
                  <p className="item-meta">
                    {t('security.devices.signedInAt', { when: dateFormat.format(session.createdAt) })}
                  </p>
                </div>
                {!session.current && (
                  <button
                    type="button"
                    className="button button-secondary button-small"
                    aria-label={t('security.devices.signOutNamed', { device: session.deviceLabel })}
                    onClick={() => {
                      revokeOne.reset();
                      setConfirming({ kind: 'one', session });
                    }}
                  >
                    {t('security.devices.signOut')}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {sessions.data !== undefined &&
        (others.length > 0 ? (
          <p>
            <button
              type="button"
              className="button button-secondary"
              onClick={() => {
                revokeOthers.reset();
                setConfirming({ kind: 'others', count: others.length });
              }}
            >
              {t('security.devices.signOutOthers')}
            </button>
          </p>
        ) : (
          <p className="muted">{t('security.devices.noOthers')}</p>
        ))}

      <ConfirmDialog
        open={confirming !== null}
        title={
          confirming?.kind === 'one'
            ? t('security.devices.confirmOne.title', { device: confirming.session.deviceLabel })
            : t('security.devices.confirmOthers.title')
        }
        body={
          <p>
            {confirming?.kind === 'one'
              ? t('security.devices.confirmOne.body')
              : t('security.devices.confirmOthers.body', { count: confirming?.count ?? 0 })}
          </p>
        }
        confirmLabel={
          confirming?.kind === 'one'
            ? t('security.devices.confirmOne.confirm')
            : t('security.devices.confirmOthers.confirm')
        }
        busyLabel={t('security.devices.signingOut')}
        busy={revokeOne.isPending || revokeOthers.isPending}
        error={confirming?.kind === 'one' ? revokeOne.error : revokeOthers.error}
        onCancel={() => setConfirming(null)}
        onConfirm={() => {
          if (confirming?.kind === 'one') {
            const device = confirming.session.deviceLabel;
            revokeOne.mutate(
              { sessionId: confirming.session.id },
              {
                onSuccess: () => afterChange(t('security.devices.signedOutOne', { device })),
                // Already gone (signed out elsewhere): the list is stale either way.
                onError: () => void queryClient.invalidateQueries({ queryKey: trpc.security.sessions.queryKey() }),
              },
            );
          } else if (confirming?.kind === 'others') {
            revokeOthers.mutate(undefined, {
              onSuccess: ({ revoked }) => afterChange(t('security.devices.signedOutOthers', { count: revoked })),
            });
          }
        }}
      />
    </section>
  );
}
