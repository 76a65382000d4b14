/**
 * Slot suggestions as pure logic: people in different zones, each keeping
 * their own working hours, across the weeks when London and New York change
 * their clocks on different Sundays.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_WEEKLY_HOURS, type Interval, type WeeklyHours } from '../../shared/schedule.ts';
import { findCommonSlots, type SlotPerson } from './slots.ts';

const utc = (iso: string) => Date.parse(iso);
const iso = (slot: Interval) => new Date(slot.start).toISOString().slice(0, 16);
const person = (timeZone: string, weekly: WeeklyHours = DEFAULT_WEEKLY_HOURS, busy: Interval[] = []): SlotPerson => ({
  timeZone,
  weekly,
  busy,
});

const london = person('Europe/London');
const newYork = person('America/New_York');

function day(date: string, people: SlotPerson[], durationMinutes = 60, limit = 50): Interval[] {
  return findCommonSlots({
    people,
    from: utc(`${date}T00:00:00Z`),
    to: utc(`${date}T23:59:59Z`),
    durationMinutes,
    limit,
  });
}

describe('findCommonSlots', () => {
  it('finds the hours a Londoner and a New Yorker share, in quarter-hour steps', () => {
    // Friday 6 March 2026: London GMT (09–17Z), New York EST (14–22Z): 14:00–17:00Z shared.
    const slots = day('2026-03-06', [london, newYork]);
    expect(slots.map(iso)).toEqual([
      '2026-03-06T14:00',
      '2026-03-06T14:15',
      '2026-03-06T14:30',
      '2026-03-06T14:45',
      '2026-03-06T15:00',
      '2026-03-06T15:15',
      '2026-03-06T15:30',
      '2026-03-06T15:45',
      '2026-03-06T16:00',
    ]);
  });

  it('gains an hour of overlap once New York springs forward (second Sunday of March)', () => {
    // Monday 9 March: New York is on EDT (13–21Z), London still on GMT (09–17Z): 13:00–17:00Z.
    const slots = day('2026-03-09', [london, newYork]);
    expect(iso(slots[0]!)).toBe('2026-03-09T13:00');
    expect(iso(slots.at(-1)!)).toBe('2026-03-09T16:00');
    expect(slots).toHaveLength(13);
  });

  it('loses it again once London springs forward (last Sunday of March)', () => {
    // Monday 30 March: London BST (08–16Z), New York EDT (13–21Z): 13:00–16:00Z.
    const slots = day('2026-03-30', [london, newYork]);
    expect(iso(slots[0]!)).toBe('2026-03-30T13:00');
    expect(iso(slots.at(-1)!)).toBe('2026-03-30T15:00');
  });

  it('answers the first N over a range that spans both changes, skipping weekends', () => {
    const slots = findCommonSlots({
      people: [london, newYork],
      from: utc('2026-03-06T16:30:00Z'),
      to: utc('2026-04-01T00:00:00Z'),
      durationMinutes: 30,
      limit: 5,
    });
    expect(slots.map(iso)).toEqual([
      '2026-03-06T16:30',
      // Saturday and Sunday are nobody's working days; Monday the 9th starts at 13:00Z.
      '2026-03-09T13:00',
      '2026-03-09T13:15',
      '2026-03-09T13:30',
      '2026-03-09T13:45',
    ]);
  });

  it('keeps each person in their own hours on the night the clocks change', () => {
    // Someone who works Sunday 00:00–04:00 London time: on 29 March that is 00:00–03:00Z.
    const night = person('Europe/London', { ...DEFAULT_WEEKLY_HOURS, sun: [{ start: '00:00', end: '04:00' }] });
    const slots = day('2026-03-29', [night]);
    expect(iso(slots[0]!)).toBe('2026-03-29T00:00');
    expect(iso(slots.at(-1)!)).toBe('2026-03-29T02:00');
  });

  it('avoids anyone’s other scheduled meetings', () => {
    const busyNewYork = person('America/New_York', DEFAULT_WEEKLY_HOURS, [
      { start: utc('2026-03-06T14:30:00Z'), end: utc('2026-03-06T15:30:00Z') },
    ]);
    const slots = day('2026-03-06', [london, busyNewYork], 30);
    expect(slots.map(iso)).toEqual([
      '2026-03-06T14:00',
      '2026-03-06T15:30',
      '2026-03-06T15:45',
      '2026-03-06T16:00',
      '2026-03-06T16:15',
      '2026-03-06T16:30',
    ]);
  });

  it('answers nothing when the hours never meet', () => {
    const tokyo = person('Asia/Tokyo');
    const losAngeles = person('America/Los_Angeles');
    expect(day('2026-03-10', [tokyo, losAngeles])).toEqual([]);
  });

  it('fits a meeting across midnight into hours that continue into the next day', () => {
    const night = person('UTC', {
      ...DEFAULT_WEEKLY_HOURS,
      mon: [{ start: '22:00', end: '24:00' }],
      tue: [{ start: '00:00', end: '02:00' }],
    });
    const slots = findCommonSlots({
      people: [night],
      from: utc('2026-03-02T00:00:00Z'),
      to: utc('2026-03-03T12:00:00Z'),
      durationMinutes: 180,
      limit: 10,
    });
    expect(slots.map(iso)).toEqual([
      '2026-03-02T22:00',
      '2026-03-02T22:15',
      '2026-03-02T22:30',
      '2026-03-02T22:45',
      '2026-03-02T23:00',
    ]);
  });

  it('starts on the quarter hour in zones with odd offsets', () => {
    // Kathmandu is UTC+05:45: 09:00 there is 03:15Z, still a quarter hour.
    const slots = day('2026-03-10', [person('Asia/Kathmandu')], 60, 2);
    expect(slots.map(iso)).toEqual(['2026-03-10T03:15', '2026-03-10T03:30']);
  });

  it('stops at the limit and never runs past the range', () => {
    expect(day('2026-03-09', [london], 60, 3)).toHaveLength(3);
    const slots = findCommonSlots({
      people: [london],
      from: utc('2026-03-09T15:50:00Z'),
      to: utc('2026-03-09T16:40:00Z'),
      durationMinutes: 30,
      limit: 10,
    });
    expect(slots.map(iso)).toEqual(['2026-03-09T16:00']);
  });
});
