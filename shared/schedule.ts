/**
 * Scheduling: time zones, working hours and the time-zone arithmetic both
 * the server (slot suggestions, mail) and the screens (forms, display) need.
 *
 * Time zones are IANA names checked against the runtime's own database
 * (`Intl`), never fixed offsets: a meeting at 09:00 Europe/London stays at
 * 09:00 London time across a daylight-saving change. Instants are epoch
 * milliseconds (UTC); wall times are what a clock in a zone shows.
 */
import { z } from 'zod';

/* ------------------------------------------------------------------------ */
/* Time zones                                                                 */
/* ------------------------------------------------------------------------ */

// An IANA name (Europe/London, America/Argentina/Buenos_Aires, Etc/GMT+5, UTC): no bare offsets like +01:00.
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

let knownZones: Map<string, string> | undefined;

/** The runtime's list of zones by lower-cased name (engines list some zones by an older name, e.g. Asia/Calcutta). */
function knownZoneSpellings(): Map<string, string> {
  knownZones ??= new Map(
    (typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []).map((zone) => [
      zone.toLowerCase(),
      zone,
    ]),
  );
  return knownZones;
}

/**
 * The zone's name if the runtime knows it, else null. The spelling is the
 * runtime's when only the case differs (`europe/london` → `Europe/London`);
 * otherwise as given, so a current name the engine lists under an older one
 * (Asia/Kolkata, Europe/Kyiv) stays as the user chose it.
 */
export function canonicalTimeZone(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed.length > 64 || !IANA_NAME.test(trimmed)) return null;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: trimmed }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
  const lower = trimmed.toLowerCase();
  return knownZoneSpellings().get(lower) ?? (resolved.toLowerCase() === lower ? resolved : trimmed);
}

export const timeZoneSchema = z.string().transform((name, ctx) => {
  const zone = canonicalTimeZone(name);
  if (zone === null) {
    ctx.addIssue({ code: 'custom', message: 'Choose a time zone from the list, like Europe/London.' });
    return z.NEVER;
  }
  return zone;
});

/* ------------------------------------------------------------------------ */
/* Wall times in a zone                                                       */
/* ------------------------------------------------------------------------ */

/** A calendar date: month 1–12. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export interface WallTime extends CalendarDate {
  hour: number;
  minute: number;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

const partFormatters = new Map<string, Intl.DateTimeFormat>();

function partFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = partFormatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partFormatters.set(timeZone, formatter);
  }
  return formatter;
}

/** What a clock in `timeZone` shows at `instant` (seconds included). */
export function wallTimeAt(instant: number, timeZone: string): WallTime & { second: number } {
  const parts: Record<string, number> = {};
  for (const part of partFormatter(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts['year'] ?? 1970,
    month: parts['month'] ?? 1,
    day: parts['day'] ?? 1,
    // Some engines write midnight as 24 even with h23.
    hour: (parts['hour'] ?? 0) % 24,
    minute: parts['minute'] ?? 0,
    second: parts['second'] ?? 0,
  };
}

/** The zone's offset from UTC at `instant`, in ms (Europe/London in summer: +3 600 000). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const wall = wallTimeAt(instant, timeZone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

function wallAsUtc(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
}

/**
 * The instant a clock in `timeZone` shows `wall`. Daylight-saving edges are
 * resolved as calendars do (Temporal's "compatible"): a time skipped by a
 * spring-forward gap moves forward by the gap (01:30 on the day London
 * skips 01:00–02:00 is 02:30 BST), and a time that happens twice in the
 * autumn is the first of the two.
 */
export function instantOfWallTime(wall: WallTime, timeZone: string): number {
  const local = wallAsUtc(wall);
  // Offsets either side of the day: a zone changes offset at most once in that window.
  const before = zoneOffsetMs(local - DAY_MS, timeZone);
  const after = zoneOffsetMs(local + DAY_MS, timeZone);
  const candidates = [...new Set([local - before, local - after])]
    .filter((instant) => instant + zoneOffsetMs(instant, timeZone) === local)
    .sort((a, b) => a - b);
  if (candidates[0] !== undefined) return candidates[0];
  // In a gap: read the wall time with the offset from before the change.
  return local - before;
}

/** The date a calendar in `timeZone` shows at `instant`. */
export function calendarDateAt(instant: number, timeZone: string): CalendarDate {
  const { year, month, day } = wallTimeAt(instant, timeZone);
  return { year, month, day };
}

export function addDays(date: CalendarDate, days: number): CalendarDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

/** Days from `a` to `b` (negative when `b` is earlier). */
export function daysBetween(a: CalendarDate, b: CalendarDate): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / DAY_MS);
}

/* ------------------------------------------------------------------------ */
/* Working hours                                                              */
/* ------------------------------------------------------------------------ */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export function weekdayOf(date: CalendarDate): Weekday {
  // getUTCDay: 0 = Sunday.
  const index = (new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7;
  return WEEKDAYS[index]!;
}

/** `HH:MM` on a 24-hour clock; `24:00` is the end of the day. */
export const clockTimeSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'Use a time like 09:00 or 17:30.');

/** Minutes since midnight of an `HH:MM` time. */
export function minutesOfClock(time: string): number {
  const [hours = '0', minutes = '0'] = time.split(':');
  return Number(hours) * 60 + Number(minutes);
}

export function clockOfMinutes(total: number): string {
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  return `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
}

export const workingRangeSchema = z
  .object({ start: clockTimeSchema, end: clockTimeSchema })
  .refine((range) => minutesOfClock(range.start) < minutesOfClock(range.end), {
    message: 'The end must be after the start.',
    path: ['end'],
  });
export type WorkingRange = z.infer<typeof workingRangeSchema>;

export const MAX_RANGES_PER_DAY = 6;

const dayRangesSchema = z
  .array(workingRangeSchema)
  .max(MAX_RANGES_PER_DAY, `Use at most ${MAX_RANGES_PER_DAY} ranges a day.`)
  .transform((ranges) => [...ranges].sort((a, b) => minutesOfClock(a.start) - minutesOfClock(b.start)))
  .refine(
    (ranges) =>
      ranges.every((range, i) => i === 0 || minutesOfClock(ranges[i - 1]!.end) <= minutesOfClock(range.start)),
    { message: 'These ranges overlap: join them into one.' },
  );

/** Working hours per weekday, in the user's own time zone; an empty day is a day off. */
export const weeklyHoursSchema = z.object({
  mon: dayRangesSchema,
  tue: dayRangesSchema,
  wed: dayRangesSchema,
  thu: dayRangesSchema,
  fri: dayRangesSchema,
  sat: dayRangesSchema,
  sun: dayRangesSchema,
});
export type WeeklyHours = z.infer<typeof weeklyHoursSchema>;

const NINE_TO_FIVE: WorkingRange[] = [{ start: '09:00', end: '17:00' }];

/** Monday to Friday, 09:00–17:00: what everyone has until they say otherwise. */
export const DEFAULT_WEEKLY_HOURS: WeeklyHours = {
  mon: NINE_TO_FIVE,
  tue: NINE_TO_FIVE,
  wed: NINE_TO_FIVE,
  thu: NINE_TO_FIVE,
  fri: NINE_TO_FIVE,
  sat: [],
  sun: [],
};

export const availabilityInput = z.object({
  timeZone: timeZoneSchema,
  weekly: weeklyHoursSchema,
});
export type AvailabilityInput = z.input<typeof availabilityInput>;

export interface AvailabilityView {
  /** Null until the user has saved their availability (the screen suggests the device's zone). */
  timeZone: string | null;
  weekly: WeeklyHours;
  /** Nothing saved yet: `weekly` is the default (Mon–Fri 09:00–17:00). */
  isDefault: boolean;
  updatedAt: Date | null;
}

/** A span of time [start, end) in epoch ms. */
export interface Interval {
  start: number;
  end: number;
}

/**
 * The instants someone with these working hours in `timeZone` is at work,
 * between `from` and `to`: each local day's ranges made absolute in that
 * day's offset (so a daylight-saving change moves them as a clock would),
 * touching ranges joined (Mon 22:00–24:00 + Tue 00:00–02:00 is one span).
 */
export function workingIntervals(weekly: WeeklyHours, timeZone: string, from: number, to: number): Interval[] {
  if (to <= from) return [];
  const first = addDays(calendarDateAt(from, timeZone), -1);
  const last = addDays(calendarDateAt(to, timeZone), 1);
  const spans: Interval[] = [];
  for (let offset = 0, days = daysBetween(first, last); offset <= days; offset++) {
    const date = addDays(first, offset);
    for (const range of weekly[weekdayOf(date)]) {
      const start = instantOfWallTime({ ...date, ...clockParts(range.start) }, timeZone);
      const end =
        range.end === '24:00'
          ? instantOfWallTime({ ...addDays(date, 1), hour: 0, minute: 0 }, timeZone)
          : instantOfWallTime({ ...date, ...clockParts(range.end) }, timeZone);
      const clipped = { start: Math.max(start, from), end: Math.min(end, to) };
      if (clipped.end > clipped.start) spans.push(clipped);
    }
  }
  return mergeIntervals(spans);
}

function clockParts(time: string): { hour: number; minute: number } {
  const total = minutesOfClock(time);
  return { hour: Math.floor(total / 60), minute: total % 60 };
}

/** Sorted, with overlapping and touching intervals joined. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const interval of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && interval.start <= last.end) last.end = Math.max(last.end, interval.end);
    else merged.push({ ...interval });
  }
  return merged;
}

/** Where both sets of intervals overlap. Inputs must be merged (sorted, disjoint). */
export function intersectIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const start = Math.max(x.start, y.start);
    const end = Math.min(x.end, y.end);
    if (end > start) out.push({ start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

/** `a` with every part covered by `busy` removed. `a` must be merged. */
export function subtractIntervals(a: readonly Interval[], busy: readonly Interval[]): Interval[] {
  const blocks = mergeIntervals(busy);
  const out: Interval[] = [];
  for (const interval of a) {
    let cursor = interval.start;
    for (const block of blocks) {
      if (block.end <= cursor || block.start >= interval.end) continue;
      if (block.start > cursor) out.push({ start: cursor, end: block.start });
      cursor = Math.max(cursor, block.end);
    }
    if (cursor < interval.end) out.push({ start: cursor, end: interval.end });
  }
  return out;
}

/* ------------------------------------------------------------------------ */
/* Suggesting times                                                           */
/* ------------------------------------------------------------------------ */

/** Suggested meetings start on the quarter hour (every zone's offset is a multiple of 15 minutes). */
export const SLOT_STEP_MINUTES = 15;
export const MIN_MEETING_MINUTES = 5;
export const MAX_MEETING_MINUTES = 480;
/** How far ahead one suggestion request may look. */
export const MAX_SUGGEST_RANGE_DAYS = 31;

/**
 * The first `limit` starts, on the quarter hour, of a meeting of
 * `durationMinutes` that fits wholly inside `free` and [from, to].
 */
export function slotsWithin(
  free: readonly Interval[],
  durationMinutes: number,
  range: Interval,
  limit: number,
): Interval[] {
  const step = SLOT_STEP_MINUTES * MINUTE_MS;
  const length = durationMinutes * MINUTE_MS;
  const slots: Interval[] = [];
  for (const interval of free) {
    let start = Math.ceil(Math.max(interval.start, range.start) / step) * step;
    const last = Math.min(interval.end, range.end) - length;
    while (start <= last && slots.length < limit) {
      slots.push({ start, end: start + length });
      start += step;
    }
    if (slots.length >= limit) break;
  }
  return slots;
}

/** An instant as the API accepts it: epoch ms, a Date, or ISO 8601 with an offset (`2026-03-29T09:00:00+01:00`). */
export const instantInput = z
  .union([
    z.number().int('Use whole milliseconds.').min(0).max(8_640_000_000_000_000),
    z.date(),
    z.iso.datetime({ offset: true, error: 'Use a date and time with its offset, like 2026-03-30T09:00:00+01:00.' }),
  ])
  .transform((value) => (typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : +value));

export const durationMinutesSchema = z
  .number()
  .int('Use whole minutes.')
  .min(MIN_MEETING_MINUTES, `A meeting lasts at least ${MIN_MEETING_MINUTES} minutes.`)
  .max(MAX_MEETING_MINUTES, `A meeting lasts at most ${MAX_MEETING_MINUTES / 60} hours.`);

export const suggestSlotsInput = z
  .object({
    /** The other people, by the email of their account; the caller is always included. */
    invitees: z.array(z.string().trim().toLowerCase().pipe(z.email('Enter a valid email address.'))).max(49),
    durationMinutes: durationMinutesSchema,
    from: instantInput,
    to: instantInput,
    /** Whose clock people without saved working hours are assumed to keep (usually the caller's zone). */
    timeZone: timeZoneSchema,
    limit: z.number().int().min(1).max(20).default(5),
    /** Moving a meeting: its participants are included too, and its own time does not count as busy. */
    meetingId: z.uuid('Unknown meeting.').optional(),
  })
  .refine((input) => input.to > input.from, { message: 'The end must be after the start.', path: ['to'] })
  .refine((input) => input.to - input.from <= MAX_SUGGEST_RANGE_DAYS * DAY_MS, {
    message: `Look at most ${MAX_SUGGEST_RANGE_DAYS} days ahead at a time.`,
    path: ['to'],
  });
export type SuggestSlotsInput = z.input<typeof suggestSlotsInput>;

export interface SuggestedSlots {
  slots: { startsAt: Date; endsAt: Date }[];
  /** Invitees (emails) who have not saved working hours: assumed Mon–Fri 09:00–17:00 in the request's zone. */
  assumedDefaults: string[];
  /** The same for the caller. */
  youAssumed: boolean;
}
