import { describe, expect, it } from 'vitest';
import {
  addDays,
  availabilityInput,
  calendarDateAt,
  canonicalTimeZone,
  DEFAULT_WEEKLY_HOURS,
  HOUR_MS,
  instantInput,
  instantOfWallTime,
  intersectIntervals,
  mergeIntervals,
  subtractIntervals,
  suggestSlotsInput,
  wallTimeAt,
  weekdayOf,
  weeklyHoursSchema,
  workingIntervals,
  zoneOffsetMs,
} from './schedule.ts';

const utc = (iso: string) => Date.parse(iso);

describe('time zones', () => {
  it('accepts IANA names in any case and answers the canonical spelling', () => {
    expect(canonicalTimeZone('Europe/London')).toBe('Europe/London');
    expect(canonicalTimeZone('europe/london')).toBe('Europe/London');
    expect(canonicalTimeZone('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos_Aires');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
  });

  it('refuses offsets, made-up zones and junk', () => {
    for (const bad of ['+01:00', 'GMT+1 ', 'Mars/Olympus_Mons', '', 'Europe/London; drop', '../etc/passwd']) {
      expect(canonicalTimeZone(bad)).toBeNull();
    }
  });

  it('knows each zone’s offset on both sides of a change', () => {
    expect(zoneOffsetMs(utc('2026-03-29T00:59:59Z'), 'Europe/London')).toBe(0);
    expect(zoneOffsetMs(utc('2026-03-29T01:00:00Z'), 'Europe/London')).toBe(HOUR_MS);
    expect(zoneOffsetMs(utc('2026-03-08T06:59:00Z'), 'America/New_York')).toBe(-5 * HOUR_MS);
    expect(zoneOffsetMs(utc('2026-03-08T07:00:00Z'), 'America/New_York')).toBe(-4 * HOUR_MS);
    expect(zoneOffsetMs(utc('2026-01-01T00:00:00Z'), 'Asia/Kathmandu')).toBe(5.75 * HOUR_MS);
  });
});

describe('wall times', () => {
  it('reads what a clock shows', () => {
    expect(wallTimeAt(utc('2026-03-30T08:00:00Z'), 'Europe/London')).toMatchObject({ day: 30, hour: 9, minute: 0 });
    expect(wallTimeAt(utc('2026-03-30T04:00:00Z'), 'America/New_York')).toMatchObject({ day: 30, hour: 0 });
    expect(calendarDateAt(utc('2026-03-30T03:59:00Z'), 'America/New_York')).toEqual({ year: 2026, month: 3, day: 29 });
  });

  it('makes a wall time an instant in that day’s offset', () => {
    const nine = (day: number, zone: string) =>
      instantOfWallTime({ year: 2026, month: 3, day, hour: 9, minute: 0 }, zone);
    expect(nine(27, 'Europe/London')).toBe(utc('2026-03-27T09:00:00Z'));
    expect(nine(30, 'Europe/London')).toBe(utc('2026-03-30T08:00:00Z'));
    expect(nine(6, 'America/New_York')).toBe(utc('2026-03-06T14:00:00Z'));
    expect(nine(9, 'America/New_York')).toBe(utc('2026-03-09T13:00:00Z'));
  });

  it('moves a time skipped by spring-forward on by the gap', () => {
    // London skips 01:00–02:00 on 29 March 2026: 01:30 is read as 02:30 BST (01:30Z).
    expect(instantOfWallTime({ year: 2026, month: 3, day: 29, hour: 1, minute: 30 }, 'Europe/London')).toBe(
      utc('2026-03-29T01:30:00Z'),
    );
    // New York skips 02:00–03:00 on 8 March 2026: 02:30 is 03:30 EDT (07:30Z).
    expect(instantOfWallTime({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York')).toBe(
      utc('2026-03-08T07:30:00Z'),
    );
  });

  it('takes the first of a time that happens twice in the autumn', () => {
    // London repeats 01:00–02:00 on 25 October 2026: 01:30 BST (00:30Z) comes first.
    expect(instantOfWallTime({ year: 2026, month: 10, day: 25, hour: 1, minute: 30 }, 'Europe/London')).toBe(
      utc('2026-10-25T00:30:00Z'),
    );
    expect(instantOfWallTime({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York')).toBe(
      utc('2026-11-01T05:30:00Z'),
    );
  });

  it('counts days and weekdays across month and year ends', () => {
    expect(addDays({ year: 2026, month: 12, day: 31 }, 1)).toEqual({ year: 2027, month: 1, day: 1 });
    expect(addDays({ year: 2028, month: 3, day: 1 }, -1)).toEqual({ year: 2028, month: 2, day: 29 });
    expect(weekdayOf({ year: 2026, month: 3, day: 29 })).toBe('sun');
    expect(weekdayOf({ year: 2026, month: 3, day: 30 })).toBe('mon');
  });
});

describe('working hours', () => {
  it('defaults to Monday to Friday, 09:00–17:00', () => {
    expect(DEFAULT_WEEKLY_HOURS.mon).toEqual([{ start: '09:00', end: '17:00' }]);
    expect(DEFAULT_WEEKLY_HOURS.sat).toEqual([]);
    expect(weeklyHoursSchema.safeParse(DEFAULT_WEEKLY_HOURS).success).toBe(true);
  });

  it('accepts several ranges a day (sorted) and 24:00 as the end of the day', () => {
    const parsed = weeklyHoursSchema.parse({
      ...DEFAULT_WEEKLY_HOURS,
      mon: [
        { start: '13:00', end: '17:00' },
        { start: '08:00', end: '12:00' },
      ],
      sat: [{ start: '20:00', end: '24:00' }],
    });
    expect(parsed.mon.map((r) => r.start)).toEqual(['08:00', '13:00']);
  });

  it('refuses overlapping ranges, an end before the start and malformed times', () => {
    const withMonday = (mon: unknown) => weeklyHoursSchema.safeParse({ ...DEFAULT_WEEKLY_HOURS, mon }).success;
    expect(
      withMonday([
        { start: '09:00', end: '12:00' },
        { start: '11:00', end: '13:00' },
      ]),
    ).toBe(false);
    expect(withMonday([{ start: '17:00', end: '09:00' }])).toBe(false);
    expect(withMonday([{ start: '9:00', end: '17:00' }])).toBe(false);
    expect(withMonday([{ start: '09:00', end: '24:30' }])).toBe(false);
  });

  it('checks the zone of an availability', () => {
    expect(availabilityInput.safeParse({ timeZone: 'Nowhere/City', weekly: DEFAULT_WEEKLY_HOURS }).success).toBe(false);
    expect(availabilityInput.parse({ timeZone: 'asia/tokyo', weekly: DEFAULT_WEEKLY_HOURS }).timeZone).toBe(
      'Asia/Tokyo',
    );
  });

  it('makes each local day’s hours absolute in that day’s offset', () => {
    const weekly = { ...DEFAULT_WEEKLY_HOURS, sun: [{ start: '00:00', end: '04:00' }] };
    const spans = workingIntervals(weekly, 'Europe/London', utc('2026-03-27T00:00:00Z'), utc('2026-03-31T00:00:00Z'));
    expect(spans.map((s) => [new Date(s.start).toISOString(), new Date(s.end).toISOString()])).toEqual([
      ['2026-03-27T09:00:00.000Z', '2026-03-27T17:00:00.000Z'],
      // The night the clocks go forward has one hour less.
      ['2026-03-29T00:00:00.000Z', '2026-03-29T03:00:00.000Z'],
      ['2026-03-30T08:00:00.000Z', '2026-03-30T16:00:00.000Z'],
    ]);
  });

  it('joins ranges that meet at midnight into one span', () => {
    const weekly = {
      ...DEFAULT_WEEKLY_HOURS,
      mon: [{ start: '22:00', end: '24:00' }],
      tue: [{ start: '00:00', end: '02:00' }],
    };
    const spans = workingIntervals(weekly, 'UTC', utc('2026-03-02T00:00:00Z'), utc('2026-03-04T00:00:00Z'));
    expect(spans).toEqual([{ start: utc('2026-03-02T22:00:00Z'), end: utc('2026-03-03T02:00:00Z') }]);
  });
});

describe('interval arithmetic', () => {
  it('merges, intersects and subtracts', () => {
    expect(
      mergeIntervals([
        { start: 5, end: 7 },
        { start: 1, end: 3 },
        { start: 3, end: 4 },
      ]),
    ).toEqual([
      { start: 1, end: 4 },
      { start: 5, end: 7 },
    ]);
    expect(
      intersectIntervals(
        [
          { start: 0, end: 10 },
          { start: 20, end: 30 },
        ],
        [{ start: 5, end: 25 }],
      ),
    ).toEqual([
      { start: 5, end: 10 },
      { start: 20, end: 25 },
    ]);
    expect(
      subtractIntervals(
        [{ start: 0, end: 10 }],
        [
          { start: 2, end: 3 },
          { start: 8, end: 12 },
        ],
      ),
    ).toEqual([
      { start: 0, end: 2 },
      { start: 3, end: 8 },
    ]);
  });
});

describe('API inputs', () => {
  it('reads instants as epoch ms, Dates or ISO 8601 with an offset', () => {
    const when = utc('2026-03-30T08:00:00Z');
    expect(instantInput.parse(when)).toBe(when);
    expect(instantInput.parse(new Date(when))).toBe(when);
    expect(instantInput.parse('2026-03-30T09:00:00+01:00')).toBe(when);
    expect(instantInput.parse('2026-03-30T08:00:00Z')).toBe(when);
    expect(instantInput.safeParse('2026-03-30T09:00:00').success).toBe(false);
    expect(instantInput.safeParse('next tuesday').success).toBe(false);
  });

  it('limits a suggestion request to a forward range of at most 31 days', () => {
    const base = { invitees: [], durationMinutes: 30, timeZone: 'UTC' };
    expect(suggestSlotsInput.safeParse({ ...base, from: 1_000, to: 1_000 }).success).toBe(false);
    expect(suggestSlotsInput.safeParse({ ...base, from: 0, to: 32 * 24 * HOUR_MS }).success).toBe(false);
    expect(suggestSlotsInput.parse({ ...base, from: 0, to: HOUR_MS }).limit).toBe(5);
  });
});
