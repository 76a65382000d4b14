/** "5 minutes ago", "yesterday", in the user's language; null for "just now" (under two minutes). */
const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600_000],
  ['month', 30 * 24 * 3600_000],
  ['week', 7 * 24 * 3600_000],
  ['day', 24 * 3600_000],
  ['hour', 3600_000],
  ['minute', 60_000],
];

export const JUST_NOW_MS = 2 * 60_000;

export function relativeTime(then: Date, now: number, locale: string): string | null {
  const ago = now - then.getTime();
  // The server's clock may run a little ahead of this one: a moment "in the future" is now.
  if (ago < JUST_NOW_MS) return null;
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (ago >= size) return format.format(-Math.floor(ago / size), unit);
  }
  return format.format(-Math.floor(ago / 60_000), 'minute');
}
