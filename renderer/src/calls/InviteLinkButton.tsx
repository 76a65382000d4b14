/**
 * The host's "Invite link": makes an expiring link for someone without an
 * account (calls.invites.create), copies it to the clipboard and shows it with
 * its expiry, so it can also be copied by hand if the clipboard is refused.
 */
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';

export function InviteLinkButton({ meetingId }: { meetingId: string }) {
  const { t, i18n } = useTranslation();
  const api = useTRPCClient();
  const create = useMutation({
    mutationFn: async () => {
      const invite = await api.calls.invites.create.mutate({ meetingId });
      let copied = false;
      try {
        await navigator.clipboard.writeText(invite.url);
        copied = true;
      } catch {
        // No clipboard access (permission, unfocused page): the link is shown to copy by hand.
      }
      return { ...invite, copied };
    },
  });
  const until =
    create.data === undefined
      ? ''
      : new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(
          create.data.expiresAt,
        );
  return (
    <div className="form call-invite">
      <div className="call-controls">
        <button
          type="button"
          className="button button-secondary"
          aria-disabled={create.isPending ? true : undefined}
          onClick={() => !create.isPending && create.mutate()}
        >
          {create.isPending ? t('calls.invite.creating') : t('calls.invite.button')}
        </button>
        {create.data !== undefined && (
          <span role="status">
            {create.data.copied ? t('calls.invite.copied', { until }) : t('calls.invite.copyByHand', { until })}
          </span>
        )}
      </div>
      {create.data !== undefined && (
        <input
          className="input"
          readOnly
          value={create.data.url}
          aria-label={t('calls.invite.link')}
          onFocus={(event) => event.target.select()}
        />
      )}
      <ErrorNotice error={create.error} />
    </div>
  );
}
