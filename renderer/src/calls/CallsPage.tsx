/**
 * Calls: start a call (a title and the people to invite, by the email of
 * their account) and the meetings the user is in, with who is in each call
 * right now and a way to join.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { z } from 'zod';
import { meetingTitleSchema } from '../../../shared/meetings.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import {
  isCancelled,
  ScheduledBadge,
  ScheduledMeetingActions,
  scheduledTime,
} from '../meetings/ScheduledMeetingActions.tsx';
import { Page } from '../shell/Page.tsx';

const startSchema = z.object({
  title: meetingTitleSchema,
  invitees: z
    .string()
    .max(5_000)
    .transform((text) =>
      text
        .split(/[\s,;]+/)
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(z.email('Enter email addresses separated by commas, like ada@example.com.')).max(49)),
});

export function CallsPage() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const meetings = useQuery({ ...trpc.meetings.list.queryOptions(), refetchInterval: 10_000 });
  const start = useMutation(
    trpc.meetings.create.mutationOptions({
      onSuccess: (meeting) => {
        void queryClient.invalidateQueries({ queryKey: trpc.meetings.pathKey() });
        void navigate(`/calls/${meeting.id}`);
      },
    }),
  );
  const form = useAccountForm({
    formId: 'start-call',
    schema: startSchema,
    initial: { title: '', invitees: '' },
    error: start.error,
  });
  const when = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });

  return (
    <Page title={t('nav.calls')}>
      <p className="lead">{t('calls.lead')}</p>
      <p className="actions">
        <Link className="button" to="/calls/schedule">
          {t('meetings.list.schedule')}
        </Link>
        <Link className="button button-secondary" to="/calls/availability">
          {t('meetings.list.availability')}
        </Link>
      </p>
      <section className="card" aria-labelledby="start-call-heading">
        <h2 id="start-call-heading">{t('calls.start.heading')}</h2>
        <form
          className="form form-narrow"
          noValidate
          onSubmit={form.handleSubmit((data) => {
            if (!start.isPending) start.mutate(data);
          })}
        >
          <TextField
            id={form.fieldId('title')}
            label={t('calls.start.title')}
            value={form.values.title}
            onChange={form.set('title')}
            error={form.errorFor('title')}
          />
          <TextField
            id={form.fieldId('invitees')}
            label={t('calls.start.invitees')}
            type="email"
            value={form.values.invitees}
            onChange={form.set('invitees')}
            error={form.errorFor('invitees')}
            hint={t('calls.start.inviteesHint')}
          />
          <ErrorNotice error={form.errorFor('invitees') === undefined ? start.error : null} />
          <SubmitButton busy={start.isPending} label={t('calls.start.submit')} busyLabel={t('calls.start.busy')} />
        </form>
      </section>
      <section className="card" aria-labelledby="meetings-heading">
        <h2 id="meetings-heading">{t('calls.meetings.heading')}</h2>
        {meetings.isPending && <p className="muted">{t('calls.meetings.loading')}</p>}
        <ErrorNotice error={meetings.error} />
        {meetings.data?.length === 0 && <p className="muted">{t('calls.meetings.empty')}</p>}
        {meetings.data !== undefined && meetings.data.length > 0 && (
          <ul className="item-list" aria-label={t('calls.meetings.heading')}>
            {meetings.data.map((meeting) => (
              <li key={meeting.id} className="item">
                <div>
                  <strong>{meeting.title}</strong>
                  <ScheduledBadge meeting={meeting} />
                  <div className="muted">
                    {meeting.participants.map((p) => p.displayName).join(', ')} ·{' '}
                    {scheduledTime(meeting, i18n.language) ?? when.format(meeting.createdAt)}
                  </div>
                  {meeting.endedAt === null && meeting.inCall.length > 0 && (
                    <span className="badge badge-success">
                      {t('calls.meetings.inCall', { count: meeting.inCall.length })}
                    </span>
                  )}
                  {meeting.endedAt !== null && !isCancelled(meeting) && (
                    <span className="badge badge-muted">{t('calls.meetings.ended')}</span>
                  )}
                </div>
                <ScheduledMeetingActions meeting={meeting} />
                {meeting.endedAt === null && (
                  <Link
                    className="button button-secondary"
                    to={`/calls/${meeting.id}`}
                    aria-label={t('calls.meetings.openLabel', { title: meeting.title })}
                  >
                    {t('calls.meetings.open')}
                  </Link>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </Page>
  );
}
