/**
 * The scheduler over a real server (SQLite) and a real SMTP server on
 * loopback: availability, suggested times across the March clock changes,
 * scheduling / moving / cancelling with the calendar files people receive
 * (read back with a strict reader), and reminders that go out once, live and
 * by mail, even when the loop runs twice or two servers share the database.
 */
import { tmpdir } from 'node:os';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, DEFAULT_WEEKLY_HOURS, MINUTE_MS, weekdayOf, type CalendarDate } from '../../shared/schedule.ts';
import { apiClient, mailedCode, mailTo, refusalOf } from '../../tests/support/api.ts';
import { createScratchDatabase, postgresUnavailableReason } from '../../tests/support/postgres.ts';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { startTestSmtpServer, type CapturedMail, type TestSmtpServer } from '../../tests/support/smtp.ts';
import { parseConfig } from '../config.ts';
import { notificationHub, type UserNotification } from '../notifications/hub.ts';
import type { AppRouter } from '../router.ts';
import { readIcs, readUtc, single, unescapeText, type IcsComponent } from './ics-reader.ts';
import { sendDueReminders, startReminderLoop, type ReminderDeps } from './reminders.ts';

let smtp: TestSmtpServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer(mailTo(smtp));
});
afterAll(async () => {
  await server?.dispose();
  await smtp?.close();
});

let counter = 0;
async function newUser(name: string, target: TestServer = server) {
  const email = `${name}-${++counter}-${Date.now()}@example.com`;
  const anonymous = apiClient(target.url);
  await anonymous.auth.signUp.mutate({ email, password: 'correct horse battery staple', displayName: name });
  const tokens = await anonymous.auth.verifyEmail.mutate({ email, code: await mailedCode(smtp, email, /Confirm/) });
  const api = apiClient(target.url, { accessToken: tokens.accessToken });
  const { id } = await api.auth.me.query();
  return { id, email, name, accessToken: tokens.accessToken, api };
}
type User = Awaited<ReturnType<typeof newUser>>;

/** The next March (at least a day away): the Friday before New York changes its clocks, and the Mondays after each change. */
function nextMarch() {
  const now = new Date();
  const year = now.getUTCMonth() >= 2 ? now.getUTCFullYear() + 1 : now.getUTCFullYear();
  const sundays: CalendarDate[] = [];
  for (let d = 1; d <= 31; d++)
    if (weekdayOf({ year, month: 3, day: d }) === 'sun') sundays.push({ year, month: 3, day: d });
  const newYorkChange = sundays[1]!; // second Sunday of March
  const londonChange = sundays.at(-1)!; // last Sunday of March
  return {
    fridayBefore: addDays(newYorkChange, -2),
    mondayBetween: addDays(newYorkChange, 1),
    mondayAfter: addDays(londonChange, 1),
  };
}
const at = (date: CalendarDate, hour: number, minute = 0) =>
  Date.UTC(date.year, date.month - 1, date.day, hour, minute);

/* ---------------------------------------------------------------------- */
/* Reading what was mailed                                                  */
/* ---------------------------------------------------------------------- */

interface MimeLeaf {
  headers: Map<string, string>;
  body: Buffer;
}

function mimeLeaves(raw: Buffer): MimeLeaf[] {
  const text = raw.toString('latin1');
  const split = /\r?\n\r?\n/.exec(text);
  const headerText = split === null ? text : text.slice(0, split.index);
  const body = split === null ? Buffer.alloc(0) : Buffer.from(text.slice(split.index + split[0].length), 'latin1');
  const headers = new Map<string, string>();
  for (const line of headerText.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith('multipart/') || boundary === undefined) return [{ headers, body }];
  return (
    body
      .toString('latin1')
      .split(`--${boundary}`)
      .slice(1)
      .filter((section) => !section.startsWith('--'))
      // The line break before a delimiter belongs to the delimiter.
      .flatMap((section) => mimeLeaves(Buffer.from(section.replace(/^\r?\n/, '').replace(/\r?\n$/, ''), 'latin1')))
  );
}

function decoded(leaf: MimeLeaf): Buffer {
  const encoding = (leaf.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(leaf.body.toString('latin1').replace(/\s+/g, ''), 'base64');
  if (encoding === 'quoted-printable') {
    const soft = leaf.body.toString('latin1').replace(/=\r?\n/g, '');
    return Buffer.from(
      soft.replace(/=([0-9A-Fa-f]{2})/g, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    );
  }
  return leaf.body;
}

/** The calendar in a mail: as the text/calendar alternative and as the .ics attachment, which must agree. */
function calendarOf(
  mail: CapturedMail,
  method: 'REQUEST' | 'CANCEL',
): { calendar: IcsComponent; event: IcsComponent; filename: string } {
  const leaves = mimeLeaves(Buffer.from(mail.raw, 'utf8'));
  const inline = leaves.find((leaf) => /^text\/calendar/i.test(leaf.headers.get('content-type') ?? ''));
  const attached = leaves.find((leaf) => /^application\/ics/i.test(leaf.headers.get('content-type') ?? ''));
  expect(inline, 'a text/calendar part').toBeDefined();
  expect(attached, 'an .ics attachment').toBeDefined();
  expect(inline!.headers.get('content-type')).toMatch(new RegExp(`method=${method}`, 'i'));
  expect(attached!.headers.get('content-disposition')).toMatch(/attachment/i);
  const filename = /filename="?([^";]+)"?/i.exec(
    `${attached!.headers.get('content-disposition') ?? ''};${attached!.headers.get('content-type') ?? ''}`,
  )?.[1];
  const ics = decoded(attached!);
  expect(decoded(inline!).toString('utf8')).toBe(ics.toString('utf8'));
  // The strict reader refuses bare LFs, long lines, cut characters and bad escapes.
  const calendar = readIcs(new Uint8Array(ics));
  const events = calendar.components.filter((c) => c.name === 'VEVENT');
  expect(events).toHaveLength(1);
  return { calendar, event: events[0]!, filename: filename ?? '' };
}

function mailFor(user: User, subject: RegExp, after = 0): Promise<CapturedMail> {
  return smtp.waitForMessage(
    (m) => m.envelopeTo.includes(user.email) && subject.test(m.subject) && smtp.messages.indexOf(m) >= after,
  );
}

const mailsTo = (user: User, subject: RegExp) =>
  smtp.messages.filter((m) => m.envelopeTo.includes(user.email) && subject.test(m.subject));

/* ---------------------------------------------------------------------- */

describe('availability', () => {
  it('is Mon–Fri 09:00–17:00 with no zone until saved, then what was saved', async () => {
    const ana = await newUser('Ana');
    expect(await ana.api.schedule.availability.get.query()).toMatchObject({
      timeZone: null,
      isDefault: true,
      weekly: DEFAULT_WEEKLY_HOURS,
    });
    const weekly = {
      ...DEFAULT_WEEKLY_HOURS,
      mon: [
        { start: '13:00', end: '17:00' },
        { start: '08:00', end: '12:00' },
      ],
      fri: [],
    };
    const saved = await ana.api.schedule.availability.set.mutate({ timeZone: 'europe/london', weekly });
    expect(saved).toMatchObject({ timeZone: 'Europe/London', isDefault: false });
    const read = await ana.api.schedule.availability.get.query();
    expect(read.timeZone).toBe('Europe/London');
    expect(read.weekly.mon).toEqual([
      { start: '08:00', end: '12:00' },
      { start: '13:00', end: '17:00' },
    ]);
    expect(read.weekly.fri).toEqual([]);
  });

  it('refuses a zone Intl does not know and overlapping hours, naming the field', async () => {
    const ana = await newUser('Ana');
    expect(
      await refusalOf(
        ana.api.schedule.availability.set.mutate({ timeZone: 'Mars/Base', weekly: DEFAULT_WEEKLY_HOURS }),
      ),
    ).toBe('VALIDATION_FAILED');
    const overlapping = {
      ...DEFAULT_WEEKLY_HOURS,
      tue: [
        { start: '09:00', end: '12:00' },
        { start: '11:00', end: '14:00' },
      ],
    };
    expect(await refusalOf(ana.api.schedule.availability.set.mutate({ timeZone: 'UTC', weekly: overlapping }))).toBe(
      'VALIDATION_FAILED',
    );
    expect((await ana.api.schedule.availability.get.query()).isDefault).toBe(true);
  });
});

describe('suggested times', () => {
  let ana: User;
  let bob: User;
  let cara: User;
  const march = nextMarch();

  beforeAll(async () => {
    [ana, bob, cara] = await Promise.all([newUser('Ana'), newUser('Bob'), newUser('Cara')]);
    await ana.api.schedule.availability.set.mutate({ timeZone: 'Europe/London', weekly: DEFAULT_WEEKLY_HOURS });
    await bob.api.schedule.availability.set.mutate({ timeZone: 'America/New_York', weekly: DEFAULT_WEEKLY_HOURS });
  });

  const suggest = (user: User, from: number, to: number, invitees: string[], durationMinutes = 60) =>
    user.api.schedule.suggest.query({ invitees, durationMinutes, from, to, timeZone: 'Europe/London', limit: 20 });

  it('finds London–New York overlap that moves with each city’s clock change', async () => {
    const friday = await suggest(ana, at(march.fridayBefore, 0), at(march.fridayBefore, 23), [bob.email]);
    expect(friday.slots[0]!.startsAt.getTime()).toBe(at(march.fridayBefore, 14));
    expect(friday.slots.at(-1)!.startsAt.getTime()).toBe(at(march.fridayBefore, 16));
    expect(friday).toMatchObject({ assumedDefaults: [], youAssumed: false });

    const between = await suggest(ana, at(march.mondayBetween, 0), at(march.mondayBetween, 23), [bob.email]);
    expect(between.slots[0]!.startsAt.getTime()).toBe(at(march.mondayBetween, 13));
    expect(between.slots.at(-1)!.startsAt.getTime()).toBe(at(march.mondayBetween, 16));

    const after = await suggest(ana, at(march.mondayAfter, 0), at(march.mondayAfter, 23), [bob.email]);
    expect(after.slots[0]!.startsAt.getTime()).toBe(at(march.mondayAfter, 13));
    expect(after.slots.at(-1)!.startsAt.getTime()).toBe(at(march.mondayAfter, 15));
  });

  it('assumes 9–5 in the request’s zone for people who have not saved hours, and says so', async () => {
    const answer = await suggest(cara, at(march.fridayBefore, 0), at(march.fridayBefore, 23), [bob.email, ana.email]);
    expect(answer.youAssumed).toBe(true);
    expect(answer.assumedDefaults).toEqual([]);
    const withCara = await suggest(ana, at(march.fridayBefore, 0), at(march.fridayBefore, 23), [cara.email]);
    expect(withCara.assumedDefaults).toEqual([cara.email.toLowerCase()]);
  });

  it('leaves out times when someone already has a scheduled meeting', async () => {
    await bob.api.meetings.schedule.mutate({
      title: 'Bob’s other meeting',
      startsAt: at(march.fridayBefore, 14, 30),
      durationMinutes: 60,
      timeZone: 'America/New_York',
    });
    const answer = await suggest(ana, at(march.fridayBefore, 0), at(march.fridayBefore, 23), [bob.email], 30);
    const starts = answer.slots.map((slot) => slot.startsAt.getTime());
    expect(starts[0]).toBe(at(march.fridayBefore, 14));
    expect(starts).not.toContain(at(march.fridayBefore, 14, 15));
    expect(starts).not.toContain(at(march.fridayBefore, 15));
    expect(starts[1]).toBe(at(march.fridayBefore, 15, 30));
  });

  it('plans a move around the meeting’s own people, not counting its current time as busy', async () => {
    const meeting = await ana.api.meetings.schedule.mutate({
      title: 'To be moved',
      startsAt: at(march.mondayAfter, 13),
      durationMinutes: 60,
      timeZone: 'Europe/London',
      invitees: [bob.email],
    });
    const answer = await ana.api.schedule.suggest.query({
      invitees: [],
      durationMinutes: 60,
      from: at(march.mondayAfter, 0),
      to: at(march.mondayAfter, 23),
      timeZone: 'Europe/London',
      meetingId: meeting.id,
    });
    // Bob (New York) came with the meeting: only the shared 13:00–16:00Z hours, including the meeting's own slot.
    expect(answer.slots.map((slot) => slot.startsAt.getTime())).toEqual([
      at(march.mondayAfter, 13),
      at(march.mondayAfter, 13, 15),
      at(march.mondayAfter, 13, 30),
      at(march.mondayAfter, 13, 45),
      at(march.mondayAfter, 14),
    ]);
    expect(answer.assumedDefaults).toEqual([]);
  });

  it('refuses invitees without an account', async () => {
    expect(
      await refusalOf(suggest(ana, at(march.fridayBefore, 0), at(march.fridayBefore, 23), ['nobody@example.com'])),
    ).toBe('VALIDATION_FAILED');
  });
});

describe('scheduling, moving and cancelling', () => {
  let ana: User;
  let bob: User;
  let cara: User;
  const march = nextMarch();
  // Monday after New York's change, 13:00Z: 13:00 in London (GMT), 09:00 in New York (EDT).
  const startsAt = () => at(march.mondayBetween, 13);
  let meetingId: string;

  beforeAll(async () => {
    [ana, bob, cara] = await Promise.all([newUser('Ana'), newUser('Bob'), newUser('Cara')]);
    await bob.api.schedule.availability.set.mutate({ timeZone: 'America/New_York', weekly: DEFAULT_WEEKLY_HOURS });
  });

  it('schedules a meeting and mails everyone a personal invitation with a calendar file', async () => {
    const sentBefore = smtp.messages.length;
    const meeting = await ana.api.meetings.schedule.mutate({
      title: 'Design review; sprint 12, "final"',
      startsAt: new Date(startsAt()).toISOString().replace('Z', '+00:00'),
      durationMinutes: 45,
      timeZone: 'Europe/London',
      invitees: [bob.email, cara.email],
      description: 'Agenda: mock-ups, colours; fonts.\nBring questions.',
    });
    meetingId = meeting.id;
    expect(meeting).toMatchObject({
      kind: 'scheduled',
      myRole: 'host',
      timeZone: 'Europe/London',
      description: 'Agenda: mock-ups, colours; fonts.\nBring questions.',
      invitations: { sent: 3, failed: [] },
    });
    expect(meeting.startsAt?.getTime()).toBe(startsAt());
    expect(meeting.endsAt?.getTime()).toBe(startsAt() + 45 * MINUTE_MS);

    const toBob = await mailFor(bob, /^Invitation: Design review/, sentBefore);
    expect(toBob.text).toContain('Ana invited you to "Design review; sprint 12, "final""');
    // Bob saved New York as his zone: his mail speaks his clock first, then the planned zone.
    expect(toBob.text).toMatch(/When: Monday,? \d+ March \d{4}, 09:00–09:45 \(America\/New_York\)/);
    expect(toBob.text).toMatch(/13:00–13:45 \(Europe\/London\), as planned/);
    expect(toBob.text).toContain('Who: Ana (host), Bob, Cara');
    expect(toBob.text).toContain(`/calls/${meetingId}`);
    expect(toBob.text).toContain(`megilance://call/${meetingId}`);

    const { calendar, event, filename } = calendarOf(toBob, 'REQUEST');
    expect(filename).toBe('invite.ics');
    expect(single(calendar, 'METHOD').value).toBe('REQUEST');
    expect(single(event, 'UID').value).toBe(`${meetingId}@megilance`);
    expect(single(event, 'SEQUENCE').value).toBe('0');
    expect(readUtc(single(event, 'DTSTART').value)).toBe(startsAt());
    expect(readUtc(single(event, 'DTEND').value)).toBe(startsAt() + 45 * MINUTE_MS);
    expect(single(event, 'DTSTART').value).toMatch(/Z$/);
    expect(unescapeText(single(event, 'SUMMARY').value)).toBe('Design review; sprint 12, "final"');
    const description = unescapeText(single(event, 'DESCRIPTION').value);
    expect(description).toContain('Agenda: mock-ups, colours; fonts.\nBring questions.');
    expect(description).toContain(`${server.deps.publicOrigin()}/calls/${meetingId}`);
    expect(description).toContain(`megilance://call/${meetingId}`);
    expect(single(event, 'ORGANIZER').params['CN']).toBe('Ana (MegiLance)');
    expect(single(event, 'ORGANIZER').value).toBe('mailto:no-reply@localhost');
    // Only Bob himself is named: invitations never show other people's addresses.
    const attendees = event.properties.filter((p) => p.name === 'ATTENDEE');
    expect(attendees.map((a) => a.value)).toEqual([`mailto:${bob.email}`]);
    expect(toBob.raw).not.toContain(cara.email);
    expect(toBob.raw).not.toContain(ana.email);

    const toAna = await mailFor(ana, /^Invitation: Design review/, sentBefore);
    expect(toAna.text).toContain('You scheduled');
    expect(single(calendarOf(toAna, 'REQUEST').event, 'ATTENDEE').params['ROLE']).toBe('CHAIR');
    await mailFor(cara, /^Invitation: Design review/, sentBefore);

    const bobsList = await bob.api.meetings.list.query();
    expect(bobsList.find((m) => m.id === meetingId)).toMatchObject({ kind: 'scheduled', myRole: 'participant' });
  });

  it('lets only the host move it; everyone gets the update with the same UID and a higher SEQUENCE', async () => {
    const later = startsAt() + 24 * 60 * MINUTE_MS;
    expect(
      await refusalOf(bob.api.meetings.reschedule.mutate({ meetingId, startsAt: later, durationMinutes: 30 })),
    ).toBe('FORBIDDEN');
    const sentBefore = smtp.messages.length;
    const moved = await ana.api.meetings.reschedule.mutate({ meetingId, startsAt: later, durationMinutes: 30 });
    expect(moved.startsAt?.getTime()).toBe(later);
    expect(moved.invitations).toEqual({ sent: 3, failed: [] });
    const update = await mailFor(cara, /^Updated invitation: Design review/, sentBefore);
    expect(update.text).toContain('Ana moved');
    const { event } = calendarOf(update, 'REQUEST');
    expect(single(event, 'UID').value).toBe(`${meetingId}@megilance`);
    expect(single(event, 'SEQUENCE').value).toBe('1');
    expect(readUtc(single(event, 'DTSTART').value)).toBe(later);
    expect(readUtc(single(event, 'DTEND').value)).toBe(later + 30 * MINUTE_MS);
  });

  it('adds people to a scheduled meeting with an invitation for them only', async () => {
    const dan = await newUser('Dan');
    const sentBefore = smtp.messages.length;
    await ana.api.meetings.invite.mutate({ meetingId, invitees: [dan.email, bob.email] });
    const toDan = await mailFor(dan, /^Invitation: Design review/, sentBefore);
    expect(single(calendarOf(toDan, 'REQUEST').event, 'SEQUENCE').value).toBe('1');
    expect(smtp.messages.slice(sentBefore).filter((m) => m.envelopeTo.includes(bob.email))).toEqual([]);
  });

  it('lets only the host cancel; it ends with the reason and everyone gets a CANCEL', async () => {
    expect(await refusalOf(bob.api.meetings.cancel.mutate({ meetingId }))).toBe('FORBIDDEN');
    const sentBefore = smtp.messages.length;
    const cancelled = await ana.api.meetings.cancel.mutate({ meetingId, reason: 'Client asked to postpone.' });
    expect(cancelled.endedAt).not.toBeNull();
    expect(cancelled.cancelReason).toBe('Client asked to postpone.');
    const toBob = await mailFor(bob, /^Cancelled: Design review/, sentBefore);
    expect(toBob.text).toContain('Ana cancelled');
    expect(toBob.text).toContain('Reason: Client asked to postpone.');
    const { calendar, event, filename } = calendarOf(toBob, 'CANCEL');
    expect(filename).toBe('cancel.ics');
    expect(single(calendar, 'METHOD').value).toBe('CANCEL');
    expect(single(event, 'STATUS').value).toBe('CANCELLED');
    expect(single(event, 'UID').value).toBe(`${meetingId}@megilance`);
    expect(single(event, 'SEQUENCE').value).toBe('2');
    await mailFor(cara, /^Cancelled: Design review/, sentBefore);

    expect((await bob.api.meetings.get.query({ meetingId })).cancelReason).toBe('Client asked to postpone.');
    // Cancelling again changes nothing and mails no one; a cancelled meeting cannot be moved.
    const count = smtp.messages.length;
    expect((await ana.api.meetings.cancel.mutate({ meetingId })).invitations).toEqual({ sent: 0, failed: [] });
    expect(
      await refusalOf(ana.api.meetings.reschedule.mutate({ meetingId, startsAt: startsAt(), durationMinutes: 30 })),
    ).toBe('PRECONDITION_FAILED');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(smtp.messages.length).toBe(count);
  });

  it('refuses times in the past, bad durations, unknown zones and invitees', async () => {
    const base = { title: 'Retro', durationMinutes: 30, timeZone: 'UTC' };
    expect(await refusalOf(ana.api.meetings.schedule.mutate({ ...base, startsAt: Date.now() - 3_600_000 }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      await refusalOf(ana.api.meetings.schedule.mutate({ ...base, startsAt: startsAt(), durationMinutes: 500 })),
    ).toBe('VALIDATION_FAILED');
    expect(
      await refusalOf(ana.api.meetings.schedule.mutate({ ...base, startsAt: startsAt(), timeZone: 'Nowhere/Land' })),
    ).toBe('VALIDATION_FAILED');
    expect(
      await refusalOf(
        ana.api.meetings.schedule.mutate({ ...base, startsAt: startsAt(), invitees: ['nobody-here@example.com'] }),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(await refusalOf(ana.api.meetings.schedule.mutate({ ...base, startsAt: '2027-03-15 09:00' }))).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('does not move or cancel an ad hoc call (it is ended instead)', async () => {
    const adhoc = await ana.api.meetings.create.mutate({ title: 'Quick sync' });
    expect(
      await refusalOf(
        ana.api.meetings.reschedule.mutate({ meetingId: adhoc.id, startsAt: startsAt(), durationMinutes: 30 }),
      ),
    ).toBe('PRECONDITION_FAILED');
    expect(await refusalOf(ana.api.meetings.cancel.mutate({ meetingId: adhoc.id }))).toBe('PRECONDITION_FAILED');
    expect(adhoc).toMatchObject({ kind: 'adhoc', description: null, cancelReason: null });
  });
});

/* ---------------------------------------------------------------------- */
/* Reminders                                                                */
/* ---------------------------------------------------------------------- */

function reminderDeps(target: TestServer): ReminderDeps {
  return {
    ...target.deps,
    notifications: notificationHub(target.deps),
    reminderMinutes: target.deps.config.meetings.reminderMinutes,
  };
}

/** A live `notifications.stream` for a user, collecting what arrives. */
async function listen(target: TestServer, user: User) {
  const ws = createWSClient({
    url: `${target.url.replace('http', 'ws')}/trpc`,
    connectionParams: () => ({ accessToken: user.accessToken }),
  });
  const live = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer: superjson })] });
  const received: UserNotification[] = [];
  const subscription = live.notifications.stream.subscribe(undefined, { onData: (n) => received.push(n) });
  const hub = notificationHub(target.deps);
  const deadline = Date.now() + 5_000;
  while (hub.listeners(user.id) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(hub.listeners(user.id)).toBeGreaterThan(0);
  return {
    received,
    async close() {
      subscription.unsubscribe();
      await ws.close();
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('reminders', () => {
  it('come MEETING_REMINDER_MINUTES before the start (default 10, 0 = off)', () => {
    const testConfig = (env: Record<string, string> = {}) =>
      parseConfig({ NODE_ENV: 'test', MEGILANCE_DATA_DIR: tmpdir(), ...env });
    expect(testConfig().meetings.reminderMinutes).toBe(10);
    expect(testConfig({ MEETING_REMINDER_MINUTES: '0' }).meetings.reminderMinutes).toBe(0);
    expect(testConfig({ MEETING_REMINDER_MINUTES: '30' }).meetings.reminderMinutes).toBe(30);
    expect(() => testConfig({ MEETING_REMINDER_MINUTES: 'soon' })).toThrow(/MEETING_REMINDER_MINUTES/);
    expect(() => testConfig({ MEETING_REMINDER_MINUTES: '-5' })).toThrow(/MEETING_REMINDER_MINUTES/);
  });

  it('are not sent at all when turned off', async () => {
    expect(await sendDueReminders({ ...reminderDeps(server), reminderMinutes: 0 }, Date.now())).toBe(0);
  });

  it('are sent once, 10 minutes before, live and by mail, however often the loop runs', async () => {
    const [ana, bob, cara] = await Promise.all([newUser('Ana'), newUser('Bob'), newUser('Cara')]);
    const startsAt = at(addDays(nextMarch().mondayAfter, 1), 15);
    const meeting = await ana.api.meetings.schedule.mutate({
      title: 'Weekly check-in',
      startsAt,
      durationMinutes: 30,
      timeZone: 'Europe/London',
      invitees: [bob.email],
    });
    const [anaLive, bobLive, caraLive] = await Promise.all([
      listen(server, ana),
      listen(server, bob),
      listen(server, cara),
    ]);
    try {
      const deps = reminderDeps(server);
      expect(deps.reminderMinutes).toBe(10);
      // Not yet due one millisecond before the window opens.
      expect(await sendDueReminders(deps, startsAt - 10 * MINUTE_MS - 1)).toBe(0);
      const sentBefore = smtp.messages.length;
      // Two passes at once and one after: each participant is reminded exactly once.
      const passes = await Promise.all([
        sendDueReminders(deps, startsAt - 10 * MINUTE_MS),
        sendDueReminders(deps, startsAt - 10 * MINUTE_MS),
      ]);
      expect(passes[0] + passes[1]).toBe(2);
      expect(await sendDueReminders(deps, startsAt - 5 * MINUTE_MS)).toBe(0);

      await until(() => anaLive.received.length > 0 && bobLive.received.length > 0, 'live reminders');
      for (const live of [anaLive, bobLive]) {
        expect(live.received).toEqual([
          {
            kind: 'meeting-reminder',
            meetingId: meeting.id,
            title: 'Weekly check-in',
            startsAt: new Date(startsAt),
            minutesBefore: 10,
          },
        ]);
      }
      const toBob = await mailFor(bob, /^Starts in 10 minutes: Weekly check-in/, sentBefore);
      expect(toBob.text).toContain(`megilance://call/${meeting.id}`);
      await mailFor(ana, /^Starts in 10 minutes: Weekly check-in/, sentBefore);
      await new Promise((r) => setTimeout(r, 200));
      expect(mailsTo(bob, /^Starts in/)).toHaveLength(1);
      // Cara is not in the meeting: nothing reaches her.
      expect(caraLive.received).toEqual([]);
      expect(mailsTo(cara, /^Starts in/)).toHaveLength(0);

      // Moved to a new time, the meeting is reminded of again (once).
      const later = startsAt + 60 * MINUTE_MS;
      await ana.api.meetings.reschedule.mutate({ meetingId: meeting.id, startsAt: later, durationMinutes: 30 });
      expect(await sendDueReminders(deps, later - 9 * MINUTE_MS)).toBe(2);
      expect(await sendDueReminders(deps, later - 8 * MINUTE_MS)).toBe(0);
      await until(() => bobLive.received.length === 2, 'the second reminder');
    } finally {
      await Promise.all([anaLive.close(), bobLive.close(), caraLive.close()]);
    }
  });

  it('are sent once when two servers share the database', async () => {
    const file = server.deps.config.database.engine === 'sqlite' ? server.deps.config.database.file : '';
    const second = await startTestServer({ ...mailTo(smtp), DATABASE_URL: `sqlite:${file}` });
    try {
      const [ana, bob] = await Promise.all([newUser('Ana'), newUser('Bob')]);
      const startsAt = at(addDays(nextMarch().mondayAfter, 2), 10);
      const meeting = await ana.api.meetings.schedule.mutate({
        title: 'Shared-database check',
        startsAt,
        durationMinutes: 15,
        timeZone: 'UTC',
        invitees: [bob.email],
      });
      const now = startsAt - 7 * MINUTE_MS;
      const first = startReminderLoop(reminderDeps(server), { now: () => now, intervalMs: 60_000 });
      const other = startReminderLoop(reminderDeps(second), { now: () => now, intervalMs: 60_000 });
      try {
        const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
        // Both nodes' loops run at once: each participant is claimed by exactly one of them.
        expect(sum(await Promise.all([first.tick(), other.tick()]))).toBe(2);
        expect(sum(await Promise.all([first.tick(), other.tick()]))).toBe(0);
      } finally {
        first.stop();
        other.stop();
      }
      await mailFor(ana, /^Starts in 7 minutes: Shared-database check/);
      await mailFor(bob, /^Starts in 7 minutes: Shared-database check/);
      await new Promise((r) => setTimeout(r, 200));
      expect(mailsTo(bob, /Shared-database check/).filter((m) => m.subject.startsWith('Starts in'))).toHaveLength(1);
      const claims = await server.deps.db
        .selectFrom('meeting_reminders')
        .selectAll()
        .where('meeting_id', '=', meeting.id)
        .execute();
      expect(claims.map((c) => c.user_id).sort()).toEqual([ana.id, bob.id].sort());
    } finally {
      await second.stop('test finished');
    }
  });

  it('are never sent for a cancelled meeting', async () => {
    const [ana, bob] = await Promise.all([newUser('Ana'), newUser('Bob')]);
    const startsAt = at(addDays(nextMarch().mondayAfter, 3), 10);
    const meeting = await ana.api.meetings.schedule.mutate({
      title: 'Called off',
      startsAt,
      durationMinutes: 15,
      timeZone: 'UTC',
      invitees: [bob.email],
    });
    await ana.api.meetings.cancel.mutate({ meetingId: meeting.id });
    expect(await sendDueReminders(reminderDeps(server), startsAt - 5 * MINUTE_MS)).toBe(0);
  });
});

describe('on PostgreSQL', () => {
  it('stores availability and schedules, and two nodes still send each reminder once', async (ctx) => {
    const reason = await postgresUnavailableReason();
    if (reason !== null) return ctx.skip(reason);
    const scratch = await createScratchDatabase();
    const nodes: TestServer[] = [];
    try {
      nodes.push(await startTestServer({ ...mailTo(smtp), DATABASE_URL: scratch.url }));
      nodes.push(await startTestServer({ ...mailTo(smtp), DATABASE_URL: scratch.url }));
      const [one, two] = nodes as [TestServer, TestServer];
      const ana = await newUser('Ana', one);
      const bob = await newUser('Bob', two);
      await bob.api.schedule.availability.set.mutate({ timeZone: 'America/New_York', weekly: DEFAULT_WEEKLY_HOURS });
      const march = nextMarch();
      const slots = await ana.api.schedule.suggest.query({
        invitees: [bob.email],
        durationMinutes: 60,
        from: at(march.mondayBetween, 0),
        to: at(march.mondayBetween, 23),
        timeZone: 'Europe/London',
      });
      expect(slots.slots[0]!.startsAt.getTime()).toBe(at(march.mondayBetween, 13));
      const startsAt = slots.slots[0]!.startsAt.getTime();
      const meeting = await ana.api.meetings.schedule.mutate({
        title: 'On PostgreSQL',
        startsAt,
        durationMinutes: 60,
        timeZone: 'Europe/London',
        invitees: [bob.email],
      });
      expect((await bob.api.meetings.get.query({ meetingId: meeting.id })).startsAt?.getTime()).toBe(startsAt);
      const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
      const when = startsAt - 10 * MINUTE_MS;
      expect(sum(await Promise.all(nodes.map((node) => sendDueReminders(reminderDeps(node), when))))).toBe(2);
      expect(sum(await Promise.all(nodes.map((node) => sendDueReminders(reminderDeps(node), when))))).toBe(0);
    } finally {
      for (const node of nodes) await node.dispose();
      await scratch.drop();
    }
  });
});

describe('the live notification stream', () => {
  it('ends when the server drains', async () => {
    const own = await startTestServer(mailTo(smtp));
    const anonymous = apiClient(own.url);
    const email = `drain-${Date.now()}@example.com`;
    await anonymous.auth.signUp.mutate({ email, password: 'correct horse battery staple', displayName: 'Dee' });
    const tokens = await anonymous.auth.verifyEmail.mutate({ email, code: await mailedCode(smtp, email, /Confirm/) });
    const id = (await apiClient(own.url, { accessToken: tokens.accessToken }).auth.me.query()).id;
    const ws = createWSClient({
      url: `${own.url.replace('http', 'ws')}/trpc`,
      connectionParams: () => ({ accessToken: tokens.accessToken }),
      retryDelayMs: () => 60_000,
    });
    const live = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer: superjson })] });
    let completed = false;
    const subscription = live.notifications.stream.subscribe(undefined, {
      onComplete: () => (completed = true),
      onError: () => (completed = true),
    });
    const hub = notificationHub(own.deps);
    await until(() => hub.listeners(id) === 1, 'the stream to open');
    const stopped = own.dispose();
    await until(() => hub.listeners(id) === 0, 'the stream to end');
    await stopped;
    subscription.unsubscribe();
    await ws.close();
    expect(completed || hub.listeners(id) === 0).toBe(true);
  });
});
