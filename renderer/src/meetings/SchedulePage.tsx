/**
 * Scheduling a meeting (`/calls/schedule`) or moving one
 * (`/calls/schedule?meeting=<id>`): title, date, start time, duration and
 * time zone (the user's own by default), the people to invite, and "Suggest
 * times", which asks the server for the first times within everyone's
 * working hours and shows them on the form's clock; choosing one fills the
 * date and time.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { z } from 'zod';
import { meetingDescriptionSchema, meetingTitleSchema, type ScheduledMeetingView } from '../../../shared/meetings.ts';
import { durationMinutesSchema, timeZoneSchema } from '../../../shared/schedule.ts';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm, type AccountForm } from '../forms/useAccountForm.ts';
import { useNow } from '../settings/useNow.ts';
import { Page } from '../shell/Page.tsx';
import {
  dateInputValue,
  defaultMeetingStart,
  deviceTimeZone,
  formatMeetingTime,
  instantFromInputs,
  suggestionRange,
  timeInputValue,
  timeZoneChoices,
  zoneLabel,
} from './time.ts';

export const DURATION_CHOICES = [15, 30, 45, 60, 90, 120, 180, 240] as const;

const emailList = z
  .string()
  .max(5_000)
  .transform((text) =>
    text
      .split(/[\s,;]+/)
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  )
  .pipe(z.array(z.email('Enter email addresses separated by commas, like ada@example.com.')).max(49));

/** The "when" fields. The date field is named `startsAt` so the server's complaints about the start land on it. */
const whenShape = {
  startsAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'Enter a date.'),
  time: z.string().regex(/^\d{2}:\d{2}(:\d{2})?$/, 'Enter a start time.'),
  durationMinutes: z.string().transform(Number).pipe(durationMinutesSchema),
  timeZone: timeZoneSchema,
};
const scheduleForm = z.object({
  title: meetingTitleSchema,
  ...whenShape,
  invitees: emailList,
  description: meetingDescriptionSchema,
});
const rescheduleForm = z.object(whenShape);

type WhenKey = 'startsAt' | 'time' | 'durationMinutes' | 'timeZone';

export function SchedulePage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const [params] = useSearchParams();
  const meetingId = params.get('meeting');
  const availability = useQuery(trpc.schedule.availability.get.queryOptions());
  const meeting = useQuery({
    ...trpc.meetings.get.queryOptions({ meetingId: meetingId ?? '' }),
    enabled: meetingId !== null,
  });
  const ownZone = availability.data?.timeZone ?? null;
  const title =
    meetingId === null
      ? t('meetings.schedule.title')
      : t('meetings.reschedule.title', { title: meeting.data?.title ?? '' });
  const ready = !availability.isPending && (meetingId === null || meeting.data !== undefined);
  return (
    <Page title={title}>
      <p className="lead">{meetingId === null ? t('meetings.schedule.lead') : t('meetings.reschedule.lead')}</p>
      <ErrorNotice error={meeting.error} />
      {!ready && meeting.error === null && <p className="muted">{t('meetings.schedule.loading')}</p>}
      {ready && meetingId === null && <ScheduleForm ownZone={ownZone} />}
      {ready && meeting.data !== undefined && (
        <RescheduleForm
          meeting={{
            id: meeting.data.id,
            startsAt: meeting.data.startsAt,
            endsAt: meeting.data.endsAt,
            timeZone: meeting.data.timeZone,
            open: meeting.data.endedAt === null && meeting.data.kind === 'scheduled',
            isHost: meeting.data.myRole === 'host',
          }}
          ownZone={ownZone}
        />
      )}
      <p>
        <Link to="/calls/availability">{t('meetings.list.availability')}</Link> ·{' '}
        <Link to="/calls">{t('meetings.schedule.back')}</Link>
      </p>
    </Page>
  );
}

function initialWhen(zone: string, start: number, durationMinutes: number): Record<WhenKey, string> {
  return {
    startsAt: dateInputValue(start, zone),
    time: timeInputValue(start, zone),
    durationMinutes: String(durationMinutes),
    timeZone: zone,
  };
}

function ScheduleForm({ ownZone }: { ownZone: string | null }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [done, setDone] = useState<ScheduledMeetingView | null>(null);
  const schedule = useMutation(
    trpc.meetings.schedule.mutationOptions({
      onSuccess: (meeting) => {
        setDone(meeting);
        void queryClient.invalidateQueries({ queryKey: trpc.meetings.pathKey() });
      },
    }),
  );
  // The form keeps its first values: a later `now` does not move what the user sees.
  const [openedAt] = useState(useNow(60_000));
  const initial = useMemo(() => {
    const zone = ownZone ?? deviceTimeZone();
    return {
      title: '',
      ...initialWhen(zone, defaultMeetingStart(openedAt, zone), 30),
      invitees: '',
      description: '',
    };
  }, [ownZone, openedAt]);
  const form = useAccountForm({ formId: 'schedule', schema: scheduleForm, initial, error: schedule.error });
  const startError = whenError(form);
  const invitees = emailList.safeParse(form.values.invitees);

  return (
    <section className="card" aria-labelledby="schedule-heading">
      <h2 id="schedule-heading" className="visually-hidden">
        {t('meetings.schedule.title')}
      </h2>
      <form
        className="form form-narrow"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          const startsAt = instantFromInputs(data.startsAt, data.time, data.timeZone);
          if (startsAt === null || schedule.isPending) return;
          setDone(null);
          schedule.mutate({
            title: data.title,
            startsAt,
            durationMinutes: data.durationMinutes,
            timeZone: data.timeZone,
            invitees: data.invitees,
            ...(data.description === '' ? {} : { description: data.description }),
          });
        })}
      >
        <TextField
          id={form.fieldId('title')}
          label={t('meetings.schedule.fields.title')}
          value={form.values.title}
          onChange={form.set('title')}
          error={form.errorFor('title')}
        />
        <WhenFields form={form} startError={startError} />
        <TextField
          id={form.fieldId('invitees')}
          label={t('meetings.schedule.fields.invitees')}
          type="email"
          value={form.values.invitees}
          onChange={form.set('invitees')}
          error={form.errorFor('invitees')}
          hint={t('meetings.schedule.fields.inviteesHint')}
        />
        <div className="field field-wide">
          <label htmlFor={form.fieldId('description')}>{t('meetings.schedule.fields.description')}</label>
          <textarea
            id={form.fieldId('description')}
            className="input"
            rows={3}
            value={form.values.description}
            onChange={(event) => form.set('description')(event.target.value)}
            aria-describedby={`${form.fieldId('description')}-hint`}
            aria-invalid={form.errorFor('description') !== undefined ? true : undefined}
          />
          {form.errorFor('description') !== undefined && <p className="field-error">{form.errorFor('description')}</p>}
          <p className="hint" id={`${form.fieldId('description')}-hint`}>
            {t('meetings.schedule.fields.descriptionHint')}
          </p>
        </div>
        <Suggestions form={form} invitees={invitees.success ? invitees.data : []} meetingId={null} />
        <ErrorNotice
          error={
            form.errorFor('invitees') === undefined && form.errorFor('startsAt') === undefined ? schedule.error : null
          }
        />
        <FormNotice>
          {done !== null && (
            <>
              {t('meetings.schedule.scheduled')}{' '}
              {done.invitations.failed.length > 0 &&
                t('meetings.schedule.notMailed', { emails: done.invitations.failed.join(', ') })}{' '}
              <Link to="/calls">{t('meetings.schedule.back')}</Link>
            </>
          )}
        </FormNotice>
        <SubmitButton
          busy={schedule.isPending}
          label={t('meetings.schedule.submit')}
          busyLabel={t('meetings.schedule.busy')}
        />
      </form>
    </section>
  );
}

function RescheduleForm({
  meeting,
  ownZone,
}: {
  meeting: {
    id: string;
    startsAt: Date | null;
    endsAt: Date | null;
    timeZone: string | null;
    open: boolean;
    isHost: boolean;
  };
  ownZone: string | null;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const reschedule = useMutation(
    trpc.meetings.reschedule.mutationOptions({
      onSuccess: () => void queryClient.invalidateQueries({ queryKey: trpc.meetings.pathKey() }),
    }),
  );
  const [openedAt] = useState(useNow(60_000));
  const initial = useMemo(() => {
    const zone = ownZone ?? meeting.timeZone ?? deviceTimeZone();
    const start = meeting.startsAt?.getTime() ?? defaultMeetingStart(openedAt, zone);
    const minutes =
      meeting.startsAt !== null && meeting.endsAt !== null
        ? Math.round((meeting.endsAt.getTime() - meeting.startsAt.getTime()) / 60_000)
        : 30;
    return initialWhen(zone, start, minutes);
  }, [meeting.startsAt, meeting.endsAt, meeting.timeZone, ownZone, openedAt]);
  const form = useAccountForm({ formId: 'reschedule', schema: rescheduleForm, initial, error: reschedule.error });
  if (!meeting.isHost) return <p className="notice">{t('meetings.reschedule.notHost')}</p>;
  if (!meeting.open) return <p className="notice">{t('meetings.reschedule.ended')}</p>;
  return (
    <section className="card" aria-labelledby="reschedule-heading">
      <h2 id="reschedule-heading" className="visually-hidden">
        {t('meetings.reschedule.submit')}
      </h2>
      <form
        className="form form-narrow"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          const startsAt = instantFromInputs(data.startsAt, data.time, data.timeZone);
          if (startsAt === null || reschedule.isPending) return;
          reschedule.mutate({
            meetingId: meeting.id,
            startsAt,
            durationMinutes: data.durationMinutes,
            timeZone: data.timeZone,
          });
        })}
      >
        <WhenFields form={form} startError={whenError(form)} />
        <Suggestions form={form} invitees={[]} meetingId={meeting.id} />
        <ErrorNotice error={form.errorFor('startsAt') === undefined ? reschedule.error : null} />
        <FormNotice>{reschedule.isSuccess && t('meetings.reschedule.moved')}</FormNotice>
        <SubmitButton
          busy={reschedule.isPending}
          label={t('meetings.reschedule.submit')}
          busyLabel={t('meetings.reschedule.busy')}
        />
      </form>
    </section>
  );
}

type WhenForm = AccountForm<WhenKey, unknown>;

/** A date and time that do not make an instant (e.g. 30 February) are refused here, before the server. */
function whenError(form: WhenForm): string | undefined {
  const { startsAt, time, timeZone } = form.values;
  return /^\d{4}-\d{2}-\d{2}$/.test(startsAt) && instantFromInputs(startsAt, time, timeZone) === null
    ? 'invalid'
    : undefined;
}

function WhenFields({ form, startError }: { form: WhenForm; startError: string | undefined }) {
  const { t, i18n } = useTranslation();
  const zones = useMemo(() => timeZoneChoices([form.values.timeZone]), [form.values.timeZone]);
  const start = instantFromInputs(form.values.startsAt, form.values.time, form.values.timeZone);
  const minutes = Number(form.values.durationMinutes);
  const now = useNow(60_000);
  const dateError =
    form.errorFor('startsAt') ?? (startError === undefined ? undefined : t('meetings.schedule.invalidDateTime'));
  return (
    <>
      <div className="item-actions">
        <div className="field">
          <label htmlFor={form.fieldId('startsAt')}>{t('meetings.schedule.fields.date')}</label>
          <input
            id={form.fieldId('startsAt')}
            className="input"
            type="date"
            value={form.values.startsAt}
            onChange={(event) => form.set('startsAt')(event.target.value)}
            aria-invalid={dateError !== undefined ? true : undefined}
            aria-describedby={dateError !== undefined ? `${form.fieldId('startsAt')}-error` : undefined}
          />
        </div>
        <div className="field">
          <label htmlFor={form.fieldId('time')}>{t('meetings.schedule.fields.time')}</label>
          <input
            id={form.fieldId('time')}
            className="input"
            type="time"
            step={300}
            value={form.values.time}
            onChange={(event) => form.set('time')(event.target.value)}
            aria-invalid={form.errorFor('time') !== undefined ? true : undefined}
          />
        </div>
        <div className="field">
          <label htmlFor={form.fieldId('durationMinutes')}>{t('meetings.schedule.fields.duration')}</label>
          <select
            id={form.fieldId('durationMinutes')}
            style={{ minWidth: 0 }}
            value={form.values.durationMinutes}
            onChange={(event) => form.set('durationMinutes')(event.target.value)}
          >
            {[...new Set([...DURATION_CHOICES, minutes])]
              .filter((choice) => Number.isInteger(choice) && choice > 0)
              .sort((a, b) => a - b)
              .map((choice) => (
                <option key={choice} value={String(choice)}>
                  {t('meetings.schedule.minutes', { count: choice })}
                </option>
              ))}
          </select>
        </div>
      </div>
      {dateError !== undefined && (
        <p className="field-error" id={`${form.fieldId('startsAt')}-error`}>
          {dateError}
        </p>
      )}
      {form.errorFor('time') !== undefined && <p className="field-error">{form.errorFor('time')}</p>}
      {form.errorFor('durationMinutes') !== undefined && (
        <p className="field-error">{form.errorFor('durationMinutes')}</p>
      )}
      <div className="field">
        <label htmlFor={form.fieldId('timeZone')}>{t('meetings.schedule.fields.timeZone')}</label>
        <select
          id={form.fieldId('timeZone')}
          value={form.values.timeZone}
          onChange={(event) => form.set('timeZone')(event.target.value)}
          aria-describedby={`${form.fieldId('timeZone')}-hint`}
        >
          {zones.map((zone) => (
            <option key={zone} value={zone}>
              {zoneLabel(zone, start ?? now, i18n.language)}
            </option>
          ))}
        </select>
        <p className="hint" id={`${form.fieldId('timeZone')}-hint`}>
          {start !== null && Number.isFinite(minutes)
            ? t('meetings.schedule.startsAt', {
                when: formatMeetingTime(start, start + minutes * 60_000, form.values.timeZone, i18n.language),
              })
            : t('meetings.schedule.fields.timeZoneHint')}
        </p>
      </div>
    </>
  );
}

function Suggestions({ form, invitees, meetingId }: { form: WhenForm; invitees: string[]; meetingId: string | null }) {
  const { t, i18n } = useTranslation();
  const client = useTRPCClient();
  const zone = form.values.timeZone;
  const suggest = useMutation({
    mutationFn: () => {
      const range = suggestionRange(form.values.startsAt, zone, Date.now());
      return client.schedule.suggest
        .query({
          invitees,
          durationMinutes: Number(form.values.durationMinutes),
          from: range.from,
          to: range.to,
          timeZone: zone,
          limit: 5,
          ...(meetingId === null ? {} : { meetingId }),
        })
        .then((answer) => ({ ...answer, from: range.from, zone }));
    },
  });
  const pick = (start: Date) => {
    const shownIn = suggest.data?.zone ?? zone;
    form.set('timeZone')(shownIn);
    form.set('startsAt')(dateInputValue(start.getTime(), shownIn));
    form.set('time')(timeInputValue(start.getTime(), shownIn));
  };
  const answer = suggest.data;
  return (
    <div className="wizard" aria-live="polite">
      <button
        type="button"
        className="button button-secondary"
        aria-disabled={suggest.isPending ? true : undefined}
        onClick={() => {
          if (!suggest.isPending) suggest.mutate();
        }}
      >
        {suggest.isPending ? t('meetings.suggest.busy') : t('meetings.suggest.button')}
      </button>
      <ErrorNotice error={suggest.error} />
      {answer !== undefined && (
        <div>
          <h3>{t('meetings.suggest.heading')}</h3>
          <p className="hint">
            {t('meetings.suggest.hint', {
              from: formatMeetingTime(answer.from, null, answer.zone, i18n.language),
              zone: answer.zone,
            })}
          </p>
          {answer.slots.length === 0 ? (
            <p>{t('meetings.suggest.none')}</p>
          ) : (
            <ul className="choices" style={{ listStyle: 'none', padding: 0 }}>
              {answer.slots.map((slot) => {
                const label = formatMeetingTime(
                  slot.startsAt.getTime(),
                  slot.endsAt.getTime(),
                  answer.zone,
                  i18n.language,
                );
                return (
                  <li key={slot.startsAt.getTime()}>
                    <button
                      type="button"
                      className="button button-quiet"
                      aria-label={t('meetings.suggest.use', { time: label })}
                      onClick={() => pick(slot.startsAt)}
                    >
                      {label}
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {answer.assumedDefaults.length > 0 && (
            <p className="hint">
              {t('meetings.suggest.assumed', {
                emails: answer.assumedDefaults.join(', '),
                verb: t('meetings.suggest.assumedVerb', { count: answer.assumedDefaults.length }),
              })}
            </p>
          )}
          {answer.youAssumed && (
            <p className="hint">
              {t('meetings.suggest.youAssumed')} <Link to="/calls/availability">{t('meetings.suggest.setYours')}</Link>
            </p>
          )}
        </div>
      )}
    </div>
  );
}
