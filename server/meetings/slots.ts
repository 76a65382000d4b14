/**
 * Suggesting meeting times: the first quarter-hour starts when the host and
 * every invitee are within their working hours (each in their own time
 * zone, so daylight-saving changes move hours as each person's clock does)
 * and none of them has another scheduled meeting. Only the times are
 * answered: nobody learns another person's hours or meetings.
 */
import {
  DEFAULT_WEEKLY_HOURS,
  intersectIntervals,
  mergeIntervals,
  MINUTE_MS,
  SLOT_STEP_MINUTES,
  slotsWithin,
  subtractIntervals,
  workingIntervals,
  type Interval,
  type SuggestedSlots,
  type WeeklyHours,
} from '../../shared/schedule.ts';
import { savedAvailability } from './availability.ts';
import { requireParticipant, usersByEmail, type MeetingsDeps } from './meetings.ts';

export interface SlotPerson {
  weekly: WeeklyHours;
  timeZone: string;
  /** Their other scheduled meetings. */
  busy: readonly Interval[];
}

/** Pure: the first `limit` slots of `durationMinutes` in [from, to] that suit everyone. */
export function findCommonSlots(options: {
  people: readonly SlotPerson[];
  from: number;
  to: number;
  durationMinutes: number;
  limit: number;
}): Interval[] {
  const { people, from, to, durationMinutes, limit } = options;
  if (people.length === 0 || to <= from) return [];
  let free: Interval[] = [{ start: from, end: to }];
  for (const person of people) {
    free = intersectIntervals(free, workingIntervals(person.weekly, person.timeZone, from, to));
    free = subtractIntervals(free, person.busy);
    if (free.length === 0) return [];
  }
  return slotsWithin(mergeIntervals(free), durationMinutes, { start: from, end: to }, limit);
}

/**
 * `schedule.suggest`: the caller and the invitees (by the email of their
 * account). People who never saved working hours are assumed to work Mon–Fri
 * 09:00–17:00 in `timeZone`, and the answer says who.
 */
export async function suggestSlots(
  deps: MeetingsDeps,
  hostId: string,
  input: {
    invitees: string[];
    durationMinutes: number;
    from: number;
    to: number;
    timeZone: string;
    limit: number;
    meetingId?: string | undefined;
  },
): Promise<SuggestedSlots> {
  const now = (deps.now ?? Date.now)();
  // Never suggest the past; start from the next quarter hour.
  const step = SLOT_STEP_MINUTES * MINUTE_MS;
  const from = Math.max(input.from, Math.ceil(now / step) * step);
  const invitees = (await usersByEmail(deps, input.invitees)).filter((user) => user.id !== hostId);
  const ids = [hostId, ...invitees.map((user) => user.id)];
  if (input.meetingId !== undefined) {
    // Only someone in the meeting may plan around its people (NOT_FOUND for anyone else).
    await requireParticipant(deps, input.meetingId, hostId);
    const members = await deps.db
      .selectFrom('meeting_participants')
      .select('user_id')
      .where('meeting_id', '=', input.meetingId)
      .execute();
    for (const member of members) if (!ids.includes(member.user_id)) ids.push(member.user_id);
  }
  const saved = await savedAvailability(deps, ids);
  const busyRows =
    input.to > from
      ? await deps.db
          .selectFrom('meeting_participants')
          .innerJoin('meetings', 'meetings.id', 'meeting_participants.meeting_id')
          .select(['meeting_participants.user_id', 'meetings.starts_at', 'meetings.ends_at'])
          .where('meeting_participants.user_id', 'in', ids)
          .where('meetings.kind', '=', 'scheduled')
          .where('meetings.ended_at', 'is', null)
          .where('meetings.starts_at', '<', input.to)
          .where('meetings.ends_at', '>', from)
          .where('meetings.id', '!=', input.meetingId ?? '')
          .execute()
      : [];
  const people = ids.map((id): SlotPerson => {
    const own = saved.get(id);
    return {
      weekly: own?.weekly ?? DEFAULT_WEEKLY_HOURS,
      timeZone: own?.timeZone ?? input.timeZone,
      busy: busyRows
        .filter((row) => row.user_id === id && row.starts_at !== null && row.ends_at !== null)
        .map((row) => ({ start: row.starts_at!, end: row.ends_at! })),
    };
  });
  const slots = findCommonSlots({
    people,
    from,
    to: input.to,
    durationMinutes: input.durationMinutes,
    limit: input.limit,
  });
  return {
    slots: slots.map((slot) => ({ startsAt: new Date(slot.start), endsAt: new Date(slot.end) })),
    // Named by the email the caller gave: people who came with the meeting stay unnamed.
    assumedDefaults: invitees.filter((user) => !saved.has(user.id)).map((user) => user.email),
    youAssumed: !saved.has(hostId),
  };
}
