import { describe, expect, it } from 'vitest';
import { instantOfWallTime } from '../../shared/schedule.ts';
import { buildIcs, escapeText, foldLine, formatUtc, paramValue, type IcsEvent } from './ics.ts';
import { IcsSyntaxError, readIcs, readUtc, single, unescapeText, type IcsComponent } from './ics-reader.ts';

const octets = (text: string) => new TextEncoder().encode(text).length;

const london = (day: number, hour: number, minute = 0) =>
  instantOfWallTime({ year: 2026, month: 3, day, hour, minute }, 'Europe/London');

const event: IcsEvent = {
  method: 'REQUEST',
  uid: '6f1c2d8e-8a51-4a3e-9d0e-2c8f5b7a1e90@megilance',
  sequence: 0,
  stamp: Date.UTC(2026, 2, 20, 12, 0, 0),
  start: london(30, 9),
  end: london(30, 9, 30),
  summary: 'Design review; sprint 12, part "B" \\ final',
  description: 'Agenda:\n1. Mock-ups, colours; fonts\n\nJoin in the browser: https://megilance.example/calls/6f1c',
  location: 'https://megilance.example/calls/6f1c2d8e-8a51-4a3e-9d0e-2c8f5b7a1e90',
  organizer: { name: 'Ana Lima, Studio (MegiLance)', email: 'no-reply@megilance.example' },
  attendees: [{ name: 'Bob "The Builder" Ng', email: 'bob@example.com', role: 'REQ-PARTICIPANT' }],
  alarmMinutesBefore: 10,
};

function vevent(calendar: IcsComponent): IcsComponent {
  const events = calendar.components.filter((c) => c.name === 'VEVENT');
  expect(events).toHaveLength(1);
  return events[0]!;
}

describe('TEXT escaping', () => {
  it('escapes backslash, semicolon and comma, and writes line breaks as \\n', () => {
    expect(escapeText('a\\b;c,d')).toBe('a\\\\b\\;c\\,d');
    expect(escapeText('one\r\ntwo\nthree\rfour')).toBe('one\\ntwo\\nthree\\nfour');
    expect(escapeText('colon: stays')).toBe('colon: stays');
  });

  it('drops control characters a content line may not hold, and turns tabs into spaces', () => {
    expect(escapeText('bell\u0007 null\u0000 del\u007f\ttab')).toBe('bell null del tab');
  });

  it('round-trips through the strict reader', () => {
    for (const text of ['plain', 'a\\b;c,d', 'x\ny', 'ünïcödé ✓ 日本語', '\\n is not a line break']) {
      expect(unescapeText(escapeText(text))).toBe(text);
    }
  });
});

describe('parameter values', () => {
  it('quotes values holding : ; or , and caret-encodes quotes, carets and line breaks (RFC 6868)', () => {
    expect(paramValue('Ana Lima')).toBe('Ana Lima');
    expect(paramValue('Lima, Ana')).toBe('"Lima, Ana"');
    expect(paramValue('a;b')).toBe('"a;b"');
    expect(paramValue('Bob "B" Ng')).toBe("Bob ^'B^' Ng");
    expect(paramValue('x^y\nz')).toBe('x^^y^nz');
  });
});

describe('folding', () => {
  it('leaves lines of 75 octets alone', () => {
    const line = `SUMMARY:${'x'.repeat(67)}`;
    expect(octets(line)).toBe(75);
    expect(foldLine(line)).toBe(line);
  });

  it('folds longer lines at 75 octets, continuations starting with one space', () => {
    const line = `DESCRIPTION:${'abcdefghij'.repeat(20)}`;
    const folded = foldLine(line).split('\r\n');
    expect(folded.length).toBeGreaterThan(2);
    expect(octets(folded[0]!)).toBe(75);
    for (const part of folded.slice(1)) {
      expect(part.startsWith(' ')).toBe(true);
      expect(octets(part)).toBeLessThanOrEqual(75);
    }
    expect(
      folded[0]! +
        folded
          .slice(1)
          .map((p) => p.slice(1))
          .join(''),
    ).toBe(line);
  });

  it('never cuts a multi-byte UTF-8 character', () => {
    // 2-, 3- and 4-byte characters, placed so that naive 75-byte cuts would land inside them.
    for (const filler of ['é', '日本', '😀', 'aé日😀']) {
      for (let pad = 0; pad < 4; pad++) {
        const line = `SUMMARY:${'a'.repeat(pad)}${filler.repeat(60)}`;
        const physical = foldLine(line).split('\r\n');
        for (const part of physical) {
          expect(octets(part)).toBeLessThanOrEqual(75);
          // Each physical line is valid UTF-8 on its own: no character was split.
          expect(() => new TextDecoder('utf-8', { fatal: true }).decode(new TextEncoder().encode(part))).not.toThrow();
          expect(part).not.toMatch(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u);
        }
        expect(
          physical[0]! +
            physical
              .slice(1)
              .map((p) => p.slice(1))
              .join(''),
        ).toBe(line);
      }
    }
  });
});

describe('UTC date-times', () => {
  it('writes instants in UTC with Z, whole seconds', () => {
    expect(formatUtc(Date.UTC(2026, 2, 29, 0, 30, 15, 999))).toBe('20260329T003015Z');
    expect(formatUtc(Date.UTC(2026, 11, 31, 23, 59, 59))).toBe('20261231T235959Z');
  });

  it('turns a London 09:00 into 09:00Z before the clocks change and 08:00Z after', () => {
    // Europe/London moves to BST at 01:00 UTC on the last Sunday of March (29 March 2026).
    expect(formatUtc(london(27, 9))).toBe('20260327T090000Z');
    expect(formatUtc(london(30, 9))).toBe('20260330T080000Z');
  });

  it('turns a New York 09:00 into 14:00Z before and 13:00Z after the second Sunday of March', () => {
    const newYork = (day: number) =>
      instantOfWallTime({ year: 2026, month: 3, day, hour: 9, minute: 0 }, 'America/New_York');
    expect(formatUtc(newYork(6))).toBe('20260306T140000Z');
    expect(formatUtc(newYork(9))).toBe('20260309T130000Z');
  });
});

describe('buildIcs', () => {
  it('writes CRLF line ends only, every physical line at most 75 octets', () => {
    const ics = buildIcs({ ...event, description: `${'Long agenda line with ünïcödé and 日本語. '.repeat(20)}` });
    expect(ics.endsWith('\r\n')).toBe(true);
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of ics.slice(0, -2).split('\r\n')) expect(octets(line)).toBeLessThanOrEqual(75);
  });

  it('reads back as an invitation with every field as written', () => {
    const calendar = readIcs(buildIcs(event));
    expect(single(calendar, 'METHOD').value).toBe('REQUEST');
    expect(single(calendar, 'VERSION').value).toBe('2.0');
    expect(single(calendar, 'PRODID').value).toBe('-//MegiLance//Meetings//EN');
    const vev = vevent(calendar);
    expect(single(vev, 'UID').value).toBe(event.uid);
    expect(single(vev, 'SEQUENCE').value).toBe('0');
    expect(readUtc(single(vev, 'DTSTAMP').value)).toBe(event.stamp);
    expect(single(vev, 'DTSTART').value).toBe('20260330T080000Z');
    expect(single(vev, 'DTEND').value).toBe('20260330T083000Z');
    expect(readUtc(single(vev, 'DTSTART').value)).toBe(event.start);
    expect(unescapeText(single(vev, 'SUMMARY').value)).toBe(event.summary);
    expect(unescapeText(single(vev, 'DESCRIPTION').value)).toBe(event.description);
    expect(unescapeText(single(vev, 'LOCATION').value)).toBe(event.location);
    expect(single(vev, 'URL').value).toBe(event.location);
    expect(single(vev, 'STATUS').value).toBe('CONFIRMED');
    const organizer = single(vev, 'ORGANIZER');
    expect(organizer.params['CN']).toBe('Ana Lima, Studio (MegiLance)');
    expect(organizer.value).toBe('mailto:no-reply@megilance.example');
    const attendee = single(vev, 'ATTENDEE');
    expect(attendee.params).toMatchObject({
      CN: 'Bob "The Builder" Ng',
      ROLE: 'REQ-PARTICIPANT',
      PARTSTAT: 'NEEDS-ACTION',
    });
    expect(attendee.value).toBe('mailto:bob@example.com');
    const alarm = vev.components.find((c) => c.name === 'VALARM');
    expect(alarm).toBeDefined();
    expect(single(alarm!, 'TRIGGER').value).toBe('-PT10M');
    expect(single(alarm!, 'ACTION').value).toBe('DISPLAY');
  });

  it('writes a cancellation with the same UID, a higher SEQUENCE and no alarm', () => {
    const calendar = readIcs(buildIcs({ ...event, method: 'CANCEL', sequence: 2 }));
    expect(single(calendar, 'METHOD').value).toBe('CANCEL');
    const vev = vevent(calendar);
    expect(single(vev, 'UID').value).toBe(event.uid);
    expect(single(vev, 'SEQUENCE').value).toBe('2');
    expect(single(vev, 'STATUS').value).toBe('CANCELLED');
    expect(vev.components.some((c) => c.name === 'VALARM')).toBe(false);
  });

  it('keeps hostile names inside their parameter and values inside their line', () => {
    const calendar = readIcs(
      buildIcs({
        ...event,
        summary: 'x\r\nATTENDEE:mailto:evil@example.com',
        attendees: [
          { name: 'Eve";ROLE=CHAIR:mailto:evil@example.com', email: 'eve@example.com', role: 'REQ-PARTICIPANT' },
        ],
      }),
    );
    const vev = vevent(calendar);
    expect(vev.properties.filter((p) => p.name === 'ATTENDEE')).toHaveLength(1);
    expect(single(vev, 'ATTENDEE').params['ROLE']).toBe('REQ-PARTICIPANT');
    expect(single(vev, 'ATTENDEE').value).toBe('mailto:eve@example.com');
    expect(unescapeText(single(vev, 'SUMMARY').value)).toBe('x\nATTENDEE:mailto:evil@example.com');
  });
});

describe('the strict reader', () => {
  const good = buildIcs(event);

  it('refuses bare line feeds, over-long lines and unbalanced components', () => {
    expect(() => readIcs(good.replace(/\r\n/g, '\n'))).toThrow(IcsSyntaxError);
    expect(() => readIcs(good.replace('SEQUENCE:0', `X-LONG:${'y'.repeat(80)}`))).toThrow(/octets/);
    expect(() => readIcs(good.replace('END:VEVENT\r\n', ''))).toThrow(IcsSyntaxError);
  });

  it('refuses unescaped commas and unknown escapes in text', () => {
    expect(() => readIcs(good.replace(/SUMMARY:[^\r]*/, 'SUMMARY:a,b'))).toThrow(/unescaped/);
    expect(() => readIcs(good.replace(/SUMMARY:[^\r]*/, 'SUMMARY:a\\qb'))).toThrow(/unknown escape/);
  });
});
