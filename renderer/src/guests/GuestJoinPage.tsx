/**
 * `/join/:token`: someone without an account opens a host's invite link. They
 * see which meeting it is for (or that the link is no longer valid), give a
 * name and join as a guest; from then on the page talks to the server with
 * the guest token alone (its own API clients, the token only in memory) and
 * shows the same lobby and call as members see. Works the same in a browser
 * and in the desktop app.
 */
import { QueryClientProvider, useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import type { GuestJoinAnswer } from '../../../shared/calls.ts';
import { createApiClients, TRPCProvider, useTRPC, useTRPCClient } from '../api/trpc.ts';
import { AccountFrame, AccountPage } from '../auth/AuthLayout.tsx';
import { CallClient } from '../calls/callClient.ts';
import { CallView } from '../calls/CallPage.tsx';
import { useApiEndpoints } from '../connection/ConnectionContext.tsx';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { guestSession } from './guestSession.ts';

export function GuestJoinPage() {
  const { token = '' } = useParams();
  const [joined, setJoined] = useState<(GuestJoinAnswer & { meetingTitle: string }) | null>(null);
  return (
    <AccountFrame>
      {joined === null ? <GuestInvite token={token} onJoined={setJoined} /> : <GuestCall guest={joined} />}
    </AccountFrame>
  );
}

function GuestInvite({
  token,
  onJoined,
}: {
  token: string;
  onJoined: (answer: GuestJoinAnswer & { meetingTitle: string }) => void;
}) {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const api = useTRPCClient();
  const preview = useQuery({ ...trpc.calls.guests.preview.queryOptions({ token }), retry: false });
  const [name, setName] = useState('');
  const join = useMutation({
    mutationFn: () => api.calls.guests.join.mutate({ token, displayName: name }),
    onSuccess: (answer) => onJoined({ ...answer, meetingTitle: preview.data?.meetingTitle ?? '' }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!join.isPending) join.mutate();
  };
  const when = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });

  return (
    <AccountPage
      title={preview.data?.meetingTitle ?? t('guests.title')}
      lead={preview.data === undefined ? undefined : t('guests.hostedBy', { name: preview.data.hostName })}
    >
      {preview.isPending ? (
        <p role="status">{t('guests.loading')}</p>
      ) : preview.data === undefined ? (
        <p className="warning-text" role="alert">
          {t('guests.invalid')}
        </p>
      ) : (
        <form className="form" onSubmit={submit} noValidate>
          <p className="muted">{t('guests.expires', { until: when.format(preview.data.expiresAt) })}</p>
          <label className="field">
            <span className="label">{t('guests.name')}</span>
            <input
              className="input"
              value={name}
              maxLength={60}
              autoComplete="name"
              onChange={(event) => setName(event.target.value)}
            />
            <span className="hint">{t('guests.nameHint')}</span>
          </label>
          <ErrorNotice error={join.error} />
          <button
            type="submit"
            className="button"
            aria-disabled={join.isPending || name.trim() === '' ? true : undefined}
          >
            {join.isPending ? t('guests.joining') : t('guests.join')}
          </button>
        </form>
      )}
    </AccountPage>
  );
}

/** The call, through API clients of the guest's own: the app's clients may carry someone's session. */
function GuestCall({ guest }: { guest: GuestJoinAnswer & { meetingTitle: string } }) {
  const { t } = useTranslation();
  const endpoints = useApiEndpoints();
  const clients = useMemo(() => createApiClients(endpoints, guestSession(guest.guestToken)), [endpoints, guest]);
  // The guest's socket closes when the page goes; not on React's StrictMode remount, which keeps these clients.
  const mounted = useRef(false);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      setTimeout(() => {
        if (!mounted.current) void clients.wsClient.close();
      }, 0);
    };
  }, [clients]);
  const call = useMemo(() => new CallClient(clients.trpcClient, guest.meetingId), [clients, guest.meetingId]);
  return (
    <div className="page guest-call" style={{ width: '100%', maxWidth: 1200 }}>
      <h1 className="page-title" tabIndex={-1}>
        {guest.meetingTitle}
      </h1>
      <p className="muted">{t('guests.joinedAs', { name: guest.displayName })}</p>
      <QueryClientProvider client={clients.queryClient}>
        <TRPCProvider trpcClient={clients.trpcClient} queryClient={clients.queryClient}>
          <CallView call={call} meetingId={guest.meetingId} guest />
        </TRPCProvider>
      </QueryClientProvider>
    </div>
  );
}
