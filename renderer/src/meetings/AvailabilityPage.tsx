/**
 * Working hours: the user's time zone and, per weekday, the hours they take
 * meetings (several ranges a day, or none). Suggested meeting times keep
 * within everyone's hours; nobody else ever sees them.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import {
  availabilityInput,
  MAX_RANGES_PER_DAY,
  WEEKDAYS,
  type AvailabilityView,
  type Weekday,
  type WeeklyHours,
  type WorkingRange,
} from '../../../shared/schedule.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton } from '../forms/fields.tsx';
import { useNow } from '../settings/useNow.ts';
import { Page } from '../shell/Page.tsx';
import { deviceTimeZone, timeZoneChoices, zoneLabel } from './time.ts';

/** A weekday's name in the user's language (2024-01-01 was a Monday). */
export function weekdayName(day: Weekday, locale: string): string {
  const date = Date.UTC(2024, 0, 1 + WEEKDAYS.indexOf(day), 12);
  return new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' }).format(date);
}

/** The first problem with each day's hours, by weekday ('' for the time zone). */
export function availabilityProblems(timeZone: string, weekly: WeeklyHours): Partial<Record<Weekday | '', string>> {
  const checked = availabilityInput.safeParse({ timeZone, weekly });
  if (checked.success) return {};
  const problems: Partial<Record<Weekday | '', string>> = {};
  for (const issue of checked.error.issues) {
    const day = issue.path[0] === 'weekly' ? (issue.path[1] as Weekday) : '';
    problems[day] ??= issue.message;
  }
  return problems;
}

export function AvailabilityPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const availability = useQuery(trpc.schedule.availability.get.queryOptions());
  return (
    <Page title={t('meetings.availability.title')}>
      <p className="lead">{t('meetings.availability.lead')}</p>
      <ErrorNotice error={availability.error} />
      {availability.isPending && <p className="muted">{t('meetings.schedule.loading')}</p>}
      {availability.data !== undefined && <AvailabilityForm saved={availability.data} />}
      <p>
        <Link to="/calls">{t('meetings.schedule.back')}</Link>
      </p>
    </Page>
  );
}

function AvailabilityForm({ saved }: { saved: AvailabilityView }) {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const device = useMemo(() => deviceTimeZone(), []);
  const [timeZone, setTimeZone] = useState(saved.timeZone ?? device);
  const [weekly, setWeekly] = useState<WeeklyHours>(saved.weekly);
  const [attempted, setAttempted] = useState(false);
  const zones = useMemo(() => timeZoneChoices([timeZone, device]), [timeZone, device]);
  const now = useNow(60_000);
  const save = useMutation(
    trpc.schedule.availability.set.mutationOptions({
      onSuccess: (answer) => queryClient.setQueryData(trpc.schedule.availability.get.queryKey(), answer),
    }),
  );
  const problems = attempted ? availabilityProblems(timeZone, weekly) : {};

  const setDay = (day: Weekday, ranges: WorkingRange[]) => {
    save.reset();
    setWeekly((current) => ({ ...current, [day]: ranges }));
  };

  return (
    <form
      className="form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        setAttempted(true);
        const checked = availabilityInput.safeParse({ timeZone, weekly });
        if (checked.success && !save.isPending) save.mutate({ timeZone, weekly });
      }}
    >
      {saved.isDefault && !save.isSuccess && <p className="notice">{t('meetings.availability.notSavedYet')}</p>}
      <section className="card" aria-labelledby="availability-zone-heading">
        <h2 id="availability-zone-heading">{t('meetings.availability.timeZone')}</h2>
        <div className="field">
          <label htmlFor="availability-zone">{t('meetings.availability.timeZone')}</label>
          <select
            id="availability-zone"
            value={timeZone}
            aria-describedby="availability-zone-hint"
            onChange={(event) => {
              save.reset();
              setTimeZone(event.target.value);
            }}
          >
            {zones.map((zone) => (
              <option key={zone} value={zone}>
                {zoneLabel(zone, now, i18n.language)}
              </option>
            ))}
          </select>
          <p className="hint" id="availability-zone-hint">
            {t('meetings.availability.deviceZone', { zone: device })}{' '}
            {timeZone !== device && (
              <button
                type="button"
                className="button button-quiet button-small"
                onClick={() => {
                  save.reset();
                  setTimeZone(device);
                }}
              >
                {t('meetings.availability.useDevice', { zone: device })}
              </button>
            )}
          </p>
          {problems[''] !== undefined && <p className="field-error">{problems['']}</p>}
        </div>
      </section>

      <section className="card" aria-labelledby="availability-days-heading">
        <h2 id="availability-days-heading">{t('meetings.availability.days')}</h2>
        {attempted && Object.keys(problems).length > 0 && (
          <p className="error-notice" role="alert">
            {t('meetings.availability.invalid')}
          </p>
        )}
        <ul className="item-list">
          {WEEKDAYS.map((day) => (
            <DayHours
              key={day}
              day={day}
              dayName={weekdayName(day, i18n.language)}
              ranges={weekly[day]}
              problem={problems[day]}
              onChange={(ranges) => setDay(day, ranges)}
            />
          ))}
        </ul>
      </section>

      <ErrorNotice error={save.error} />
      <FormNotice>{save.isSuccess && t('meetings.availability.saved')}</FormNotice>
      <div>
        <SubmitButton
          busy={save.isPending}
          label={t('meetings.availability.save')}
          busyLabel={t('meetings.availability.saving')}
          wide={false}
        />
      </div>
    </form>
  );
}

/** After the last range of the day: the next hour, or a morning when the day is empty. */
function nextRange(ranges: readonly WorkingRange[]): WorkingRange {
  const last = ranges.at(-1);
  if (last === undefined) return { start: '09:00', end: '17:00' };
  const [hours = 0] = last.end.split(':').map(Number);
  const start = Math.min(hours + 1, 23);
  return {
    start: `${String(start).padStart(2, '0')}:00`,
    end: start + 1 >= 24 ? '24:00' : `${String(start + 1).padStart(2, '0')}:00`,
  };
}

// A time field cannot hold 24:00: the end of the day shows as 23:59, and 23:59 is saved as 24:00.
const END_OF_DAY_FIELD = '23:59';

function DayHours({
  day,
  dayName,
  ranges,
  problem,
  onChange,
}: {
  day: Weekday;
  dayName: string;
  ranges: WorkingRange[];
  problem: string | undefined;
  onChange: (ranges: WorkingRange[]) => void;
}) {
  const { t } = useTranslation();
  const working = ranges.length > 0;
  const update = (index: number, change: Partial<WorkingRange>) =>
    onChange(ranges.map((range, i) => (i === index ? { ...range, ...change } : range)));
  const errorId = `availability-${day}-error`;
  return (
    <li className="item" style={{ alignItems: 'flex-start', flexWrap: 'wrap' }}>
      <div className="item-main" style={{ minWidth: 160 }}>
        <label className="choice">
          <input
            type="checkbox"
            checked={working}
            onChange={(event) => onChange(event.target.checked ? [nextRange([])] : [])}
          />
          {dayName}
        </label>
        {!working && <span className="item-meta">{t('meetings.availability.off')}</span>}
      </div>
      {working && (
        <div style={{ display: 'grid', gap: 8 }}>
          {ranges.map((range, index) => (
            <fieldset
              key={index}
              className="item-actions"
              style={{ border: 0, padding: 0, margin: 0, alignItems: 'center' }}
              aria-describedby={problem !== undefined ? errorId : undefined}
            >
              <legend className="visually-hidden">
                {t('meetings.availability.rangeLabel', { day: dayName, n: index + 1 })}
              </legend>
              <label>
                {t('meetings.availability.from')}{' '}
                <input
                  className="input"
                  style={{ width: 'auto' }}
                  type="time"
                  step={900}
                  value={range.start}
                  aria-invalid={problem !== undefined ? true : undefined}
                  onChange={(event) => update(index, { start: event.target.value })}
                />
              </label>
              <label>
                {t('meetings.availability.to')}{' '}
                <input
                  className="input"
                  style={{ width: 'auto' }}
                  type="time"
                  step={900}
                  value={range.end === '24:00' ? END_OF_DAY_FIELD : range.end}
                  aria-invalid={problem !== undefined ? true : undefined}
                  onChange={(event) =>
                    update(index, { end: event.target.value === END_OF_DAY_FIELD ? '24:00' : event.target.value })
                  }
                />
              </label>
              <button
                type="button"
                className="button button-quiet button-small"
                aria-label={t('meetings.availability.removeRangeLabel', {
                  day: dayName,
                  start: range.start,
                  end: range.end,
                })}
                onClick={() => onChange(ranges.filter((_, i) => i !== index))}
              >
                {t('meetings.availability.removeRange')}
              </button>
            </fieldset>
          ))}
          {ranges.length < MAX_RANGES_PER_DAY && (
            <div>
              <button
                type="button"
                className="button button-secondary button-small"
                aria-label={t('meetings.availability.addRangeLabel', { day: dayName })}
                onClick={() => onChange([...ranges, nextRange(ranges)])}
              >
                {t('meetings.availability.addRange')}
              </button>
            </div>
          )}
          {problem !== undefined && (
            <p className="field-error" id={errorId}>
              {problem}
            </p>
          )}
        </div>
      )}
    </li>
  );
}
