/**
 * Time for the meeting screens: turning the form's date and time fields into
 * an instant in a chosen zone (daylight saving included, through
 * shared/schedule.ts) and back, and showing meeting times in the user's own
 * zone and language. Pure functions of their arguments: no "now", no
 * device zone unless asked for.
 */
import {
  addDays,
  calendarDateAt,
  canonicalTimeZone,
  DAY_MS,
  instantOfWallTime,
  wallTimeAt,
} from '../../../shared/schedule.ts';

const pad = (n: number) => String(n).padStart(2, '0');

/** The device's zone (what the browser or OS is set to), or UTC when it cannot say. */
export function deviceTimeZone(): string {
  try {
    return canonicalTimeZone(new Intl.DateTimeFormat().resolvedOptions().timeZone) ?? 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Every zone the runtime knows, with UTC and the given ones (e.g. the saved zone) always present, sorted. */
export function timeZoneChoices(always: readonly (string | null | undefined)[] = []): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const extra = always.filter((zone): zone is string => typeof zone === 'string' && zone !== '');
  return [...new Set(['UTC', ...known, ...extra])].sort((a, b) => a.localeCompare(b));
}

/** `YYYY-MM-DD` as an `<input type="date">` holds it: the date a calendar in `timeZone` shows at `instant`. */
export function dateInputValue(instant: number, timeZone: string): string {
  const { year, month, day } = calendarDateAt(instant, timeZone);
  return `${String(year).padStart(4, '0')}-${pad(month)}-${pad(day)}`;
}

/** `HH:MM` as an `<input type="time">` holds it. */
export function timeInputValue(instant: number, timeZone: string): string {
  const { hour, minute } = wallTimeAt(instant, timeZone);
  return `${pad(hour)}:${pad(minute)}`;
}

/** The instant the date and time fields mean in `timeZone`, or null when they do not hold a real date and time. */
export function instantFromInputs(date: string, time: string, timeZone: string): number | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  const t = /^(\d{2}):(\d{2})(?::\d{2})?$/.exec(time.trim());
  const zone = canonicalTimeZone(timeZone);
  if (d === null || t === null || zone === null) return null;
  const [year, month, day, hour, minute] = [d[1], d[2], d[3], t[1], t[2]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || hour > 23 || minute > 59) return null;
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  return instantOfWallTime({ year, month, day, hour, minute }, zone);
}

/** Tomorrow at 10:00 in `timeZone`: where the schedule form starts. */
export function defaultMeetingStart(now: number, timeZone: string): number {
  const tomorrow = addDays(calendarDateAt(now, timeZone), 1);
  return instantOfWallTime({ ...tomorrow, hour: 10, minute: 0 }, timeZone);
}

/**
 * Where "suggest times" looks: from the start of the chosen day (or now, if
 * that is later) for a week. An unreadable date looks from now.
 */
export function suggestionRange(date: string, timeZone: string, now: number, days = 7): { from: number; to: number } {
  const dayStart = instantFromInputs(date, '00:00', timeZone);
  const from = Math.max(now, dayStart ?? now);
  return { from, to: from + days * DAY_MS };
}

/** `GMT+1`, `GMT-4`, `GMT+5:45`, `UTC`: the zone's offset at that instant, as the language writes it. */
export function offsetName(instant: number, timeZone: string, locale: string): string {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 'UTC';
  const part = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'shortOffset' })
    .formatToParts(instant)
    .find((p) => p.type === 'timeZoneName');
  // Some languages write a zero offset as GMT+0: the same thing, said once.
  return part?.value.replace(/^GMT[+-]0$/, 'GMT') ?? timeZone;
}

/** `Europe/London (GMT+1)`: a zone for a select list or a caption, with its offset at that instant. */
export function zoneLabel(timeZone: string, instant: number, locale: string): string {
  return `${timeZone.replace(/_/g, ' ')} (${offsetName(instant, timeZone, locale)})`;
}

/**
 * A meeting's time on one clock: `Mon, 30 Mar 2026, 14:00–14:30 GMT+1`, or
 * with the end's date too when it ends on another day.
 */
export function formatMeetingTime(start: number, end: number | null, timeZone: string, locale: string): string {
  const day = new Intl.DateTimeFormat(locale, {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  });
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' });
  const zone = offsetName(start, timeZone, locale);
  if (end === null) return `${day.format(start)}, ${time.format(start)} ${zone}`;
  if (day.format(start) === day.format(end)) {
    return `${day.format(start)}, ${time.format(start)}–${time.format(end)} ${zone}`;
  }
  return `${day.format(start)}, ${time.format(start)} – ${day.format(end)}, ${time.format(end)} ${zone}`;
}

/** How long until `start`, in the user's language (`in 10 minutes`, `in 2 hours`, `5 minutes ago`). */
export function formatStartsIn(start: number, now: number, locale: string): string {
  const minutes = Math.round((start - now) / 60_000);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  if (Math.abs(minutes) < 60) return rtf.format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return rtf.format(hours, 'hour');
  return rtf.format(Math.round(hours / 24), 'day');
}
