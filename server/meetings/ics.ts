/**
 * iCalendar (RFC 5545) for meeting invitations: one VEVENT in a VCALENDAR
 * with METHOD:REQUEST (an invitation or an update) or METHOD:CANCEL, as
 * calendar apps expect it from mail (iTIP, RFC 5546).
 *
 * Times are written in UTC (`…Z`), so no VTIMEZONE is needed and every
 * calendar shows the right local time, daylight saving included. The UID is
 * stable per meeting and SEQUENCE grows with each change, which is how a
 * calendar knows that an update or a cancellation replaces what it has.
 *
 * Written by hand rather than with a library: the subset needed is small,
 * and the parts that go wrong (text escaping, parameter quoting, folding
 * long lines at 75 octets without splitting a UTF-8 character, CRLF line
 * ends) are each one function here with its own tests (ics.test.ts).
 */

export type IcsMethod = 'REQUEST' | 'CANCEL';

export interface IcsPerson {
  name: string;
  email: string;
}

export interface IcsAttendee extends IcsPerson {
  /** CHAIR for the host, REQ-PARTICIPANT for everyone else. */
  role: 'CHAIR' | 'REQ-PARTICIPANT';
}

export interface IcsEvent {
  method: IcsMethod;
  /** The same for every mail about one meeting. */
  uid: string;
  /** 0 for the first invitation; higher for each update and for the cancellation. */
  sequence: number;
  /** When this version was made (DTSTAMP). */
  stamp: number;
  start: number;
  end: number;
  summary: string;
  description: string;
  /** Where to join (a web link); also given as the event's URL. */
  location: string;
  organizer: IcsPerson;
  attendees: readonly IcsAttendee[];
  /** A display alarm this many minutes before the start; none when null. */
  alarmMinutesBefore: number | null;
}

const PRODUCT_ID = '-//MegiLance//Meetings//EN';
const MAX_LINE_OCTETS = 75;

/** The whole calendar object: CRLF line ends, long lines folded. */
export function buildIcs(event: IcsEvent): string {
  const lines = [
    'BEGIN:VCALENDAR',
    `PRODID:${PRODUCT_ID}`,
    'VERSION:2.0',
    'CALSCALE:GREGORIAN',
    `METHOD:${event.method}`,
    'BEGIN:VEVENT',
    `UID:${escapeText(event.uid)}`,
    `SEQUENCE:${event.sequence}`,
    `DTSTAMP:${formatUtc(event.stamp)}`,
    `DTSTART:${formatUtc(event.start)}`,
    `DTEND:${formatUtc(event.end)}`,
    `SUMMARY:${escapeText(event.summary)}`,
    `DESCRIPTION:${escapeText(event.description)}`,
    `LOCATION:${escapeText(event.location)}`,
    `URL:${uriValue(event.location)}`,
    `STATUS:${event.method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED'}`,
    'TRANSP:OPAQUE',
    `ORGANIZER;CN=${paramValue(event.organizer.name)}:${mailto(event.organizer.email)}`,
    ...event.attendees.map(
      (person) =>
        `ATTENDEE;CN=${paramValue(person.name)};ROLE=${person.role};CUTYPE=INDIVIDUAL;PARTSTAT=${
          person.role === 'CHAIR' ? 'ACCEPTED' : 'NEEDS-ACTION'
        };RSVP=FALSE:${mailto(person.email)}`,
    ),
    ...(event.alarmMinutesBefore !== null && event.method === 'REQUEST'
      ? [
          'BEGIN:VALARM',
          'ACTION:DISPLAY',
          `DESCRIPTION:${escapeText(event.summary)}`,
          `TRIGGER:-PT${Math.max(0, Math.round(event.alarmMinutesBefore))}M`,
          'END:VALARM',
        ]
      : []),
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return lines.map(foldLine).join('\r\n') + '\r\n';
}

/** `20260330T080000Z`: a UTC DATE-TIME, whole seconds. */
export function formatUtc(instant: number): string {
  if (!Number.isFinite(instant)) throw new RangeError('not a valid instant');
  return new Date(Math.floor(instant / 1000) * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * A TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped,
 * every line break (CRLF, LF or CR) as `\n`, other control characters
 * (not allowed in content lines) dropped.
 */
export function escapeText(value: string): string {
  return lines(value)
    .map((line) => withoutControls(line.replace(/\t/g, ' ')).replace(/[\\;,]/g, '\\$&'))
    .join('\\n');
}

/**
 * A parameter value such as CN (RFC 5545 §3.2, with RFC 6868's caret
 * encoding for what a parameter cannot otherwise hold): quoted when it
 * contains `:`, `;` or `,`; `"` becomes `^'`, a line break `^n`, `^` itself `^^`.
 */
export function paramValue(value: string): string {
  const encoded = lines(value)
    .map((line) => withoutControls(line).replace(/[\^"]/g, (ch) => (ch === '^' ? '^^' : "^'")))
    .join('^n');
  return /[:;,]/.test(encoded) ? `"${encoded}"` : encoded;
}

function mailto(email: string): string {
  return `mailto:${uriValue(email.trim())}`;
}

/** A URI value is not escaped like TEXT; it only must not carry control characters or spaces. */
function uriValue(uri: string): string {
  return withoutControls(uri).replace(/ /g, '');
}

function lines(value: string): string[] {
  return value.split(/\r\n|\r|\n/);
}

/** Without C0 control characters and DEL, which content lines may not hold. */
export function withoutControls(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0x20 && code !== 0x7f) out += char;
  }
  return out;
}

/**
 * Splits a content line into lines of at most 75 octets (RFC 5545 §3.1):
 * each continuation starts with one space, which counts toward its 75, and
 * no UTF-8 character is cut in half.
 */
export function foldLine(line: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(line).length <= MAX_LINE_OCTETS) return line;
  const out: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = encoder.encode(char).length;
    const limit = out.length === 0 ? MAX_LINE_OCTETS : MAX_LINE_OCTETS - 1;
    if (octets + size > limit) {
      out.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  out.push(current);
  return out.join('\r\n ');
}
