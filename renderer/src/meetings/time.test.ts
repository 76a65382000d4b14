import { describe, expect, it } from 'vitest';
import {
  dateInputValue,
  defaultMeetingStart,
  formatMeetingTime,
  formatStartsIn,
  instantFromInputs,
  offsetName,
  suggestionRange,
  timeInputValue,
  timeZoneChoices,
  zoneLabel,
} from './time.ts';

const utc = (iso: string) => Date.parse(iso);

describe('form fields and instants', () => {
  it('reads a date and time in the chosen zone, on either side of a clock change', () => {
    expect(instantFromInputs('2026-03-27', '09:00', 'Europe/London')).toBe(utc('2026-03-27T09:00:00Z'));
    expect(instantFromInputs('2026-03-30', '09:00', 'Europe/London')).toBe(utc('2026-03-30T08:00:00Z'));
    expect(instantFromInputs('2026-03-30', '09:00', 'America/New_York')).toBe(utc('2026-03-30T13:00:00Z'));
    expect(instantFromInputs('2026-03-30', '09:00:00', 'Asia/Kathmandu')).toBe(utc('2026-03-30T03:15:00Z'));
  });

  it('refuses what is not a real date, time or zone', () => {
    expect(instantFromInputs('2026-02-30', '09:00', 'UTC')).toBeNull();
    expect(instantFromInputs('2026-13-01', '09:00', 'UTC')).toBeNull();
    expect(instantFromInputs('2026-03-30', '24:00', 'UTC')).toBeNull();
    expect(instantFromInputs('30/03/2026', '09:00', 'UTC')).toBeNull();
    expect(instantFromInputs('2026-03-30', '09:00', 'Mars/Base')).toBeNull();
    expect(instantFromInputs('', '', 'UTC')).toBeNull();
  });

  it('fills the fields back from an instant, in the zone’s own date', () => {
    const instant = utc('2026-03-30T03:30:00Z');
    expect(dateInputValue(instant, 'Europe/London')).toBe('2026-03-30');
    expect(timeInputValue(instant, 'Europe/London')).toBe('04:30');
    // Still Sunday evening in Los Angeles.
    expect(dateInputValue(instant, 'America/Los_Angeles')).toBe('2026-03-29');
    expect(timeInputValue(instant, 'America/Los_Angeles')).toBe('20:30');
    expect(instantFromInputs('2026-03-29', '20:30', 'America/Los_Angeles')).toBe(instant);
  });

  it('starts a new meeting tomorrow at 10:00 on the user’s clock', () => {
    expect(defaultMeetingStart(utc('2026-03-28T23:30:00Z'), 'Europe/London')).toBe(utc('2026-03-29T09:00:00Z'));
    expect(defaultMeetingStart(utc('2026-03-28T23:30:00Z'), 'Asia/Tokyo')).toBe(utc('2026-03-30T01:00:00Z'));
  });

  it('looks for suggestions from the chosen day (never the past) for a week', () => {
    const now = utc('2026-03-25T12:00:00Z');
    expect(suggestionRange('2026-03-30', 'Europe/London', now)).toEqual({
      from: utc('2026-03-29T23:00:00Z'),
      to: utc('2026-04-05T23:00:00Z'),
    });
    expect(suggestionRange('2026-03-01', 'Europe/London', now).from).toBe(now);
    expect(suggestionRange('not a date', 'UTC', now).from).toBe(now);
  });
});

describe('showing times', () => {
  const start = utc('2026-03-30T13:00:00Z');
  const end = utc('2026-03-30T13:30:00Z');

  it('writes a meeting’s time on the reader’s clock, in their language, with the offset', () => {
    expect(formatMeetingTime(start, end, 'Europe/London', 'en-GB')).toBe('Mon, 30 Mar 2026, 14:00–14:30 GMT+1');
    expect(formatMeetingTime(start, end, 'America/New_York', 'en-US')).toBe(
      'Mon, Mar 30, 2026, 09:00 AM–09:30 AM GMT-4',
    );
    expect(formatMeetingTime(start, null, 'UTC', 'en-GB')).toBe('Mon, 30 Mar 2026, 13:00 UTC');
  });

  it('names both dates when a meeting runs past midnight', () => {
    expect(formatMeetingTime(utc('2026-03-30T22:30:00Z'), utc('2026-03-31T00:30:00Z'), 'UTC', 'en-GB')).toBe(
      'Mon, 30 Mar 2026, 22:30 – Tue, 31 Mar 2026, 00:30 UTC',
    );
  });

  it('labels zones with their offset at that moment', () => {
    expect(offsetName(utc('2026-03-27T12:00:00Z'), 'Europe/London', 'en-GB')).toBe('GMT');
    expect(offsetName(utc('2026-03-30T12:00:00Z'), 'Europe/London', 'en-GB')).toBe('GMT+1');
    expect(zoneLabel('America/New_York', utc('2026-03-06T12:00:00Z'), 'en-US')).toBe('America/New York (GMT-5)');
    expect(zoneLabel('Asia/Kathmandu', start, 'en-GB')).toBe('Asia/Kathmandu (GMT+5:45)');
  });

  it('says how soon a meeting starts', () => {
    const now = utc('2026-03-30T12:50:00Z');
    expect(formatStartsIn(start, now, 'en')).toBe('in 10 minutes');
    expect(formatStartsIn(start + 2 * 3_600_000, now, 'en')).toBe('in 2 hours');
    expect(formatStartsIn(start - 26 * 3_600_000, now, 'en')).toBe('26 hours ago');
    expect(formatStartsIn(start + 5 * 86_400_000, now, 'de')).toBe('in 5 Tagen');
  });

  it('offers every zone, UTC and the saved one included, sorted', () => {
    const zones = timeZoneChoices(['Asia/Kolkata', null]);
    expect(zones).toContain('UTC');
    expect(zones).toContain('Europe/London');
    expect(zones).toContain('Asia/Kolkata');
    expect([...zones].sort((a, b) => a.localeCompare(b))).toEqual(zones);
    expect(new Set(zones).size).toBe(zones.length);
  });
});
