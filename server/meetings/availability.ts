/**
 * Availability: each user's own time zone and working hours. Only the user
 * reads or changes theirs; others see it only through suggested meeting
 * times (slots.ts), never as hours.
 */
import {
  DEFAULT_WEEKLY_HOURS,
  weeklyHoursSchema,
  type AvailabilityView,
  type WeeklyHours,
} from '../../shared/schedule.ts';
import type { MeetingsDeps } from './meetings.ts';

/** A user's saved availability, or null when they have not saved any. */
export interface SavedAvailability {
  timeZone: string;
  weekly: WeeklyHours;
}

function parseWeekly(json: string): WeeklyHours {
  // Written only through weeklyHoursSchema; a row that no longer parses reads as the default.
  try {
    const parsed = weeklyHoursSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : DEFAULT_WEEKLY_HOURS;
  } catch {
    return DEFAULT_WEEKLY_HOURS;
  }
}

export async function getAvailability(deps: MeetingsDeps, userId: string): Promise<AvailabilityView> {
  const row = await deps.db
    .selectFrom('user_availability')
    .selectAll()
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (row === undefined) return { timeZone: null, weekly: DEFAULT_WEEKLY_HOURS, isDefault: true, updatedAt: null };
  return {
    timeZone: row.time_zone,
    weekly: parseWeekly(row.weekly_json),
    isDefault: false,
    updatedAt: new Date(row.updated_at),
  };
}

/** Saves the caller's own availability (input already checked by `availabilityInput`). */
export async function setAvailability(
  deps: MeetingsDeps,
  userId: string,
  input: { timeZone: string; weekly: WeeklyHours },
): Promise<AvailabilityView> {
  const now = (deps.now ?? Date.now)();
  const row = {
    user_id: userId,
    time_zone: input.timeZone,
    weekly_json: JSON.stringify(input.weekly),
    updated_at: now,
  };
  await deps.db
    .insertInto('user_availability')
    .values(row)
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({
        time_zone: row.time_zone,
        weekly_json: row.weekly_json,
        updated_at: row.updated_at,
      }),
    )
    .execute();
  return { timeZone: input.timeZone, weekly: input.weekly, isDefault: false, updatedAt: new Date(now) };
}

/** Saved availability of several users, by user id (those without a row are absent). */
export async function savedAvailability(
  deps: MeetingsDeps,
  userIds: readonly string[],
): Promise<Map<string, SavedAvailability>> {
  const found = new Map<string, SavedAvailability>();
  if (userIds.length === 0) return found;
  const rows = await deps.db
    .selectFrom('user_availability')
    .select(['user_id', 'time_zone', 'weekly_json'])
    .where('user_id', 'in', [...userIds])
    .execute();
  for (const row of rows) found.set(row.user_id, { timeZone: row.time_zone, weekly: parseWeekly(row.weekly_json) });
  return found;
}
