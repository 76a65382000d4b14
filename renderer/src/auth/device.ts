/**
 * What this browser says about itself when signing in (the schema's
 * `device`): time zone, language and screen size. The server adds the IP and
 * User-Agent, and uses all of it to label the session ("Chrome 156 on
 * Linux") and to notice a sign-in from somewhere new.
 */
import type { ClientDevice } from '../../../shared/accounts.ts';

export interface BrowserFacts {
  timeZone: string | undefined;
  language: string | undefined;
  screen: { width: number; height: number } | undefined;
}

/** The schema's limits (shared/accounts.ts clientDeviceSchema): a value that would not fit is left out, not cut. */
const limits = { timezone: 64, language: 35, screen: 32 } as const;

function fits(value: string | undefined, max: number): string | undefined {
  return value !== undefined && value.length > 0 && value.length <= max ? value : undefined;
}

export function describeDevice(facts: BrowserFacts): ClientDevice {
  const device: ClientDevice = {};
  const timezone = fits(facts.timeZone, limits.timezone);
  const language = fits(facts.language, limits.language);
  const screen =
    facts.screen !== undefined && facts.screen.width > 0 && facts.screen.height > 0
      ? fits(`${Math.round(facts.screen.width)}x${Math.round(facts.screen.height)}`, limits.screen)
      : undefined;
  if (timezone !== undefined) device.timezone = timezone;
  if (language !== undefined) device.language = language;
  if (screen !== undefined) device.screen = screen;
  return device;
}

/** This browser's facts, read when signing in. */
export function browserDevice(): ClientDevice {
  return describeDevice({
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    language: navigator.language,
    screen: typeof screen === 'undefined' ? undefined : { width: screen.width, height: screen.height },
  });
}
