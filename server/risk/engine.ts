/**
 * Risk-based authentication: scores one sign-in from its signals and the
 * account's history, and decides allow / require MFA / block.
 *
 * Pure and deterministic: no clock (the attempt's instant is in the
 * signals), no I/O, no randomness. The caller gathers the signals
 * (signals.ts) and the history (store.ts) and acts on the decision.
 *
 * Each signal that fires adds a reason with a weight; the score is the sum
 * clamped to 0..100 and the policy's thresholds turn it into a decision. A
 * block-listed IP is blocked whatever the score.
 */
import { z } from 'zod';
import { describePlace, distanceKm, type GeoLocation } from './geo.ts';
import type { IpReputation } from './ip-reputation.ts';

/** In the order reasons are reported: the most serious first. */
export const riskReasonCodes = [
  'BAD_IP',
  'IMPOSSIBLE_TRAVEL',
  'FAILURE_VELOCITY_ACCOUNT',
  'FAILURE_VELOCITY_IP',
  'TOR_OR_ANONYMIZER',
  'NEW_DEVICE',
  'NEW_COUNTRY',
  'ALLOWLISTED_IP',
] as const;

export type RiskReasonCode = (typeof riskReasonCodes)[number];

export interface RiskReason {
  code: RiskReasonCode;
  /** User-facing English, e.g. "New sign-in from Chrome 156 on Linux in Berlin, Germany". */
  message: string;
  /** Points this reason adds to the score (negative for ALLOWLISTED_IP). */
  weight: number;
  /** The facts behind the message, for translations and the security log. */
  detail?: Record<string, string | number>;
}

export type RiskDecision = 'allow' | 'require_mfa' | 'block';

export interface RiskAssessment {
  /** 0 (nothing unusual) to 100. */
  score: number;
  decision: RiskDecision;
  reasons: RiskReason[];
  /** What the user is told about a sign-in from a device the account has not used: null when the device is known. */
  newDeviceNotice: string | null;
  /** `Chrome 156 on Linux in Berlin, Germany`: the device and place of this attempt, for any event about it. */
  deviceAndPlace: string;
}

export interface SignInSignals {
  /** When the attempt happened (epoch ms): the engine's only notion of "now". */
  at: number;
  ip: string;
  /** Where the IP is, or null when unknown (private address, not in the data). */
  geo: GeoLocation | null;
  device: { fingerprint: string; label: string };
  ipReputation: IpReputation;
}

export interface LastSignIn {
  at: number;
  geo: GeoLocation | null;
}

/** What the caller loads about the account and the IP before assessing (store.ts `loadSignInHistory`). */
export interface SignInHistory {
  knownDeviceFingerprints: readonly string[];
  /** Countries (ISO codes) of the account's earlier successful sign-ins; empty for a fresh account. */
  knownCountries: readonly string[];
  lastSuccessfulSignIn: LastSignIn | null;
  /** Failed attempts within the policy's windows: on this account, and from this IP on any account. */
  recentFailures: { account: number; ip: number };
}

const weight = (fallback: number) => z.number().int().min(0).max(100).default(fallback);

export const riskPolicySchema = z
  .object({
    /** Scores at or above this require a second factor. */
    mfaThreshold: z.number().int().min(1).max(100).default(30),
    /** Scores at or above this are refused. */
    blockThreshold: z.number().int().min(1).max(100).default(70),
    impossibleTravel: z
      .object({
        /** Faster than this between two sign-ins is impossible travel (a long-haul flight is about 900 km/h). */
        maxSpeedKmh: z.number().positive().default(900),
        /** Closer than this (after subtracting the geo data's accuracy) is never called travel. */
        minDistanceKm: z.number().min(0).default(300),
      })
      .prefault({}),
    failureVelocity: z
      .object({
        accountWindowMinutes: z.number().int().positive().default(60),
        /** This many failed attempts on the account within its window fires FAILURE_VELOCITY_ACCOUNT. */
        accountThreshold: z.number().int().positive().default(5),
        ipWindowMinutes: z.number().int().positive().default(15),
        /** This many failed attempts from the IP (any account) within its window fires FAILURE_VELOCITY_IP. */
        ipThreshold: z.number().int().positive().default(10),
      })
      .prefault({}),
    weights: z
      .object({
        BAD_IP: weight(100),
        IMPOSSIBLE_TRAVEL: weight(45),
        FAILURE_VELOCITY_ACCOUNT: weight(30),
        FAILURE_VELOCITY_IP: weight(30),
        TOR_OR_ANONYMIZER: weight(30),
        NEW_DEVICE: weight(35),
        NEW_COUNTRY: weight(15),
        /** Subtracted: a trusted network lowers the risk. */
        ALLOWLISTED_IP: z.number().int().min(-100).max(0).default(-40),
      })
      .prefault({}),
  })
  .refine((policy) => policy.mfaThreshold < policy.blockThreshold, {
    message: 'mfaThreshold must be below blockThreshold',
    path: ['blockThreshold'],
  });

export type RiskPolicy = z.output<typeof riskPolicySchema>;
export type RiskPolicyInput = z.input<typeof riskPolicySchema>;

export const defaultRiskPolicy: RiskPolicy = riskPolicySchema.parse({});

/** Validates a policy (missing fields take the defaults); the error names each bad field. */
export function parseRiskPolicy(input: unknown): RiskPolicy {
  const result = riskPolicySchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(policy)'}: ${issue.message}`);
  throw new Error(`Invalid risk policy: ${problems.join('; ')}`);
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

function plural(count: number, unit: string, formatted: string = integer.format(count)): string {
  return `${formatted} ${unit}${count === 1 ? '' : 's'}`;
}

/** "45 minutes", "1 hour", "2.5 hours", "3 days". */
export function describeElapsed(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return plural(Math.round(minutes), 'minute');
  const hours = Math.round((minutes / 60) * 10) / 10;
  if (hours < 48) return plural(hours, 'hour', oneDecimal.format(hours));
  return plural(Math.round(hours / 24), 'day');
}

/** "hour", "2 hours", "15 minutes": read after "in the last". */
function describeWindow(minutes: number): string {
  if (minutes === 60) return 'hour';
  return minutes % 60 === 0 ? plural(minutes / 60, 'hour') : plural(minutes, 'minute');
}

function placeOf(geo: GeoLocation | null): string | null {
  return geo === null ? null : describePlace(geo);
}

interface Travel {
  distanceKm: number;
  hours: number;
  speedKmh: number;
}

/**
 * How fast someone would have had to travel from the last successful
 * sign-in to this one; null when either place is unknown or the distance
 * is too short to tell (the geo data is only so accurate).
 */
function travelSince(last: LastSignIn | null, geo: GeoLocation | null, at: number, policy: RiskPolicy): Travel | null {
  if (last === null || last.geo === null || geo === null) return null;
  const distance = distanceKm(last.geo, geo);
  // Both positions may be off by their accuracy radius: count only the distance that is certain.
  const certain = distance - (last.geo.accuracyKm ?? 0) - (geo.accuracyKm ?? 0);
  if (certain < policy.impossibleTravel.minDistanceKm) return null;
  // Clocks and concurrent requests can put the last sign-in at (or after) now: call it one minute.
  const hours = Math.max(at - last.at, 60_000) / 3_600_000;
  return { distanceKm: distance, hours, speedKmh: certain / hours };
}

export function assessSignIn(signals: SignInSignals, history: SignInHistory, policy: RiskPolicy): RiskAssessment {
  const { weights } = policy;
  const found: RiskReason[] = [];
  const add = (code: RiskReasonCode, message: string, detail?: Record<string, string | number>): void => {
    found.push({ code, message, weight: weights[code], ...(detail === undefined ? {} : { detail }) });
  };

  const place = placeOf(signals.geo);
  const deviceAndPlace = place === null ? signals.device.label : `${signals.device.label} in ${place}`;

  if (signals.ipReputation.blocked) {
    add('BAD_IP', `Sign-in attempt from a blocked network address (${signals.ip})`, { ip: signals.ip });
  }

  const travel = travelSince(history.lastSuccessfulSignIn, signals.geo, signals.at, policy);
  const last = history.lastSuccessfulSignIn;
  if (travel !== null && travel.speedKmh > policy.impossibleTravel.maxSpeedKmh && last?.geo) {
    const from = describePlace(last.geo);
    add(
      'IMPOSSIBLE_TRAVEL',
      `Sign-in from ${place ?? 'an unknown place'} ${describeElapsed(signals.at - last.at)} after one from ${from}, ` +
        `${integer.format(travel.distanceKm)} km away: that would mean travelling at least ${integer.format(travel.speedKmh)} km/h`,
      {
        from,
        to: place ?? '',
        distanceKm: Math.round(travel.distanceKm),
        hours: Math.round(travel.hours * 100) / 100,
        speedKmh: Math.round(travel.speedKmh),
      },
    );
  }

  const { failureVelocity } = policy;
  if (history.recentFailures.account >= failureVelocity.accountThreshold) {
    add(
      'FAILURE_VELOCITY_ACCOUNT',
      `${plural(history.recentFailures.account, 'failed sign-in attempt')} on this account in the last ` +
        describeWindow(failureVelocity.accountWindowMinutes),
      { failures: history.recentFailures.account, windowMinutes: failureVelocity.accountWindowMinutes },
    );
  }
  if (history.recentFailures.ip >= failureVelocity.ipThreshold) {
    add(
      'FAILURE_VELOCITY_IP',
      `${plural(history.recentFailures.ip, 'failed sign-in attempt')} from this network address in the last ` +
        describeWindow(failureVelocity.ipWindowMinutes),
      { failures: history.recentFailures.ip, windowMinutes: failureVelocity.ipWindowMinutes, ip: signals.ip },
    );
  }

  if (signals.ipReputation.anonymizer) {
    add('TOR_OR_ANONYMIZER', 'Sign-in through an anonymizing network (such as Tor or a public proxy)', {
      ip: signals.ip,
    });
  }

  const newDevice = !history.knownDeviceFingerprints.includes(signals.device.fingerprint);
  const newDeviceNotice = newDevice ? `New sign-in from ${deviceAndPlace}` : null;
  if (newDeviceNotice !== null) {
    add('NEW_DEVICE', newDeviceNotice, { device: signals.device.label, place: place ?? '' });
  }

  const country = signals.geo?.country;
  if (country !== undefined && history.knownCountries.length > 0 && !history.knownCountries.includes(country)) {
    add('NEW_COUNTRY', `First sign-in from ${describePlace({ country, city: null })} on this account`, { country });
  }

  if (signals.ipReputation.allowlisted) {
    add('ALLOWLISTED_IP', 'Sign-in from a trusted network address', { ip: signals.ip });
  }

  const reasons = found.sort((a, b) => riskReasonCodes.indexOf(a.code) - riskReasonCodes.indexOf(b.code));
  const total = reasons.reduce((sum, reason) => sum + reason.weight, 0);
  const score = Math.min(100, Math.max(0, Math.round(total)));
  const decision: RiskDecision = signals.ipReputation.blocked
    ? 'block'
    : score >= policy.blockThreshold
      ? 'block'
      : score >= policy.mfaThreshold
        ? 'require_mfa'
        : 'allow';
  return { score, decision, reasons, newDeviceNotice, deviceAndPlace };
}
