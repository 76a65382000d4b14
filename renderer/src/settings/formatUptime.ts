/**
 * "3 days, 4 hr" — how long the server has been up, in the user's language,
 * to the two largest units (more precision is noise for an uptime).
 */
const units = [
  { unit: 'day', seconds: 86_400 },
  { unit: 'hour', seconds: 3_600 },
  { unit: 'minute', seconds: 60 },
  { unit: 'second', seconds: 1 },
] as const;

export function formatUptime(totalSeconds: number, locale: string): string {
  let remaining = Math.max(0, Math.floor(totalSeconds));
  const parts: string[] = [];
  for (const { unit, seconds } of units) {
    const amount = Math.floor(remaining / seconds);
    remaining -= amount * seconds;
    if (amount > 0 || (parts.length > 0 && parts.length < 2)) {
      parts.push(new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(amount));
    }
    if (parts.length === 2) break;
  }
  if (parts.length === 0) {
    parts.push(new Intl.NumberFormat(locale, { style: 'unit', unit: 'second', unitDisplay: 'long' }).format(0));
  }
  return new Intl.ListFormat(locale, { style: 'long', type: 'unit' }).format(parts);
}
