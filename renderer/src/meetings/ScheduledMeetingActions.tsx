/**
 * What the host can do with an upcoming scheduled meeting from the meeting
 * list: move it (the schedule form, filled in) or cancel it (with an
 * optional reason, after a confirmation), and how its time reads.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useTRPC } from '../api/trpc.ts';
import { ConfirmDialog } from '../shell/ConfirmDialog.tsx';
import { deviceTimeZone, formatMeetingTime } from './time.ts';

interface ListedMeeting {
  id: string;
  title: string;
  kind: 'adhoc' | 'scheduled';
  myRole: 'host' | 'participant';
  startsAt: Date | null;
  endsAt: Date | null;
  endedAt: Date | null;
  cancelReason: string | null;
}

/** A scheduled meeting's time on this device's clock; null for an ad hoc call. */
export function scheduledTime(meeting: ListedMeeting, locale: string): string | null {
  if (meeting.kind !== 'scheduled' || meeting.startsAt === null) return null;
  return formatMeetingTime(meeting.startsAt.getTime(), meeting.endsAt?.getTime() ?? null, deviceTimeZone(), locale);
}

/** Cancelled: ended before it started (with or without a reason). */
export function isCancelled(meeting: ListedMeeting): boolean {
  if (meeting.kind !== 'scheduled' || meeting.endedAt === null) return false;
  return meeting.cancelReason !== null || (meeting.startsAt !== null && meeting.endedAt < meeting.startsAt);
}

/** The badge a scheduled meeting carries: scheduled (not ended yet) or cancelled; nothing otherwise. */
export function ScheduledBadge({ meeting }: { meeting: ListedMeeting }) {
  const { t } = useTranslation();
  if (isCancelled(meeting)) return <span className="badge badge-muted">{t('meetings.list.cancelled')}</span>;
  if (meeting.kind !== 'scheduled' || meeting.endedAt !== null) return null;
  return <span className="badge">{t('meetings.list.scheduled')}</span>;
}

export function ScheduledMeetingActions({ meeting }: { meeting: ListedMeeting }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const cancel = useMutation(
    trpc.meetings.cancel.mutationOptions({
      onSuccess: () => {
        setConfirming(false);
        void queryClient.invalidateQueries({ queryKey: trpc.meetings.pathKey() });
      },
    }),
  );
  if (meeting.kind !== 'scheduled' || meeting.myRole !== 'host' || meeting.endedAt !== null) return null;
  const reasonId = `cancel-reason-${meeting.id}`;
  return (
    <>
      <Link
        className="button button-secondary button-small"
        to={`/calls/schedule?meeting=${meeting.id}`}
        aria-label={t('meetings.list.moveLabel', { title: meeting.title })}
      >
        {t('meetings.list.move')}
      </Link>
      <button
        type="button"
        className="button button-quiet button-small"
        aria-label={t('meetings.cancel.buttonLabel', { title: meeting.title })}
        onClick={() => {
          cancel.reset();
          setConfirming(true);
        }}
      >
        {t('meetings.list.cancel')}
      </button>
      <ConfirmDialog
        open={confirming}
        title={t('meetings.cancel.title', { title: meeting.title })}
        body={
          <>
            <p>{t('meetings.cancel.body')}</p>
            <div className="field field-wide">
              <label htmlFor={reasonId}>{t('meetings.cancel.reason')}</label>
              <input
                id={reasonId}
                className="input"
                maxLength={500}
                value={reason}
                onChange={(event) => setReason(event.target.value)}
              />
            </div>
          </>
        }
        confirmLabel={t('meetings.cancel.confirm')}
        busyLabel={t('meetings.cancel.busy')}
        busy={cancel.isPending}
        error={cancel.error}
        onConfirm={() => cancel.mutate({ meetingId: meeting.id, ...(reason.trim() === '' ? {} : { reason }) })}
        onCancel={() => setConfirming(false)}
      />
    </>
  );
}
