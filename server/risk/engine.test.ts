import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  assessSignIn,
  defaultRiskPolicy,
  describeElapsed,
  parseRiskPolicy,
  type RiskAssessment,
  type SignInHistory,
  type SignInSignals,
} from './engine.ts';
import type { GeoLocation } from './geo.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 2, 14, 9, 30);

const BERLIN: GeoLocation = { country: 'DE', region: 'BE', city: 'Berlin', latitude: 52.52, longitude: 13.405 };
const POTSDAM: GeoLocation = { country: 'DE', region: 'BB', city: 'Potsdam', latitude: 52.3906, longitude: 13.0645 };
const SYDNEY: GeoLocation = {
  country: 'AU',
  region: 'NSW',
  city: 'Sydney',
  latitude: -33.8688,
  longitude: 151.2093,
  accuracyKm: 20,
};

const LAPTOP = { fingerprint: 'browser:laptop', label: 'Chrome 156 on Linux' };
const PHONE = { fingerprint: 'browser:phone', label: 'Safari 17 on iOS (iPhone)' };
const CLEAN = { blocked: false, anonymizer: false, allowlisted: false };

function signals(overrides: Partial<SignInSignals> = {}): SignInSignals {
  return { at: NOW, ip: '81.169.145.1', geo: BERLIN, device: LAPTOP, ipReputation: CLEAN, ...overrides };
}

/** A Berlin user who signed in from the laptop yesterday. */
function history(overrides: Partial<SignInHistory> = {}): SignInHistory {
  return {
    knownDeviceFingerprints: [LAPTOP.fingerprint],
    knownCountries: ['DE'],
    lastSuccessfulSignIn: { at: NOW - 24 * HOUR, geo: BERLIN },
    recentFailures: { account: 0, ip: 0 },
    ...overrides,
  };
}

const codes = (a: RiskAssessment) => a.reasons.map((r) => r.code);

describe('risk engine', () => {
  afterEach(() => vi.useRealTimers());

  it('allows a known device from the usual place, with nothing to report', () => {
    const result = assessSignIn(signals(), history(), defaultRiskPolicy);
    expect(result).toEqual({
      score: 0,
      decision: 'allow',
      reasons: [],
      newDeviceNotice: null,
      deviceAndPlace: 'Chrome 156 on Linux in Berlin, Germany',
    });
  });

  it('asks for a second factor on a new device and tells the user where it signed in', () => {
    const result = assessSignIn(signals({ device: PHONE }), history(), defaultRiskPolicy);
    expect(result.decision).toBe('require_mfa');
    expect(result.score).toBe(35);
    expect(result.reasons).toEqual([
      {
        code: 'NEW_DEVICE',
        message: 'New sign-in from Safari 17 on iOS (iPhone) in Berlin, Germany',
        weight: 35,
        detail: { device: 'Safari 17 on iOS (iPhone)', place: 'Berlin, Germany' },
      },
    ]);
    expect(result.newDeviceNotice).toBe('New sign-in from Safari 17 on iOS (iPhone) in Berlin, Germany');
  });

  it('names only the device when the place is unknown', () => {
    const result = assessSignIn(
      signals({ device: PHONE, geo: null, ip: '192.168.1.20' }),
      history(),
      defaultRiskPolicy,
    );
    expect(result.newDeviceNotice).toBe('New sign-in from Safari 17 on iOS (iPhone)');
    expect(codes(result)).toEqual(['NEW_DEVICE']);
  });

  it('flags impossible travel: Germany one hour after Australia, with the distance and speed', () => {
    const afterSydney = history({
      knownCountries: ['AU'],
      lastSuccessfulSignIn: { at: NOW - HOUR, geo: SYDNEY },
    });
    const result = assessSignIn(signals(), afterSydney, defaultRiskPolicy);
    expect(codes(result)).toEqual(['IMPOSSIBLE_TRAVEL', 'NEW_COUNTRY']);
    expect(result.decision).toBe('require_mfa');
    expect(result.score).toBe(60);

    const travel = result.reasons[0]!;
    expect(travel.weight).toBe(45);
    const { distanceKm, speedKmh, hours } = travel.detail as { distanceKm: number; speedKmh: number; hours: number };
    expect(distanceKm).toBeGreaterThan(16_000);
    expect(distanceKm).toBeLessThan(16_200);
    expect(hours).toBe(1);
    // The speed counts only the certain distance (Sydney's 20 km accuracy radius taken off).
    expect(speedKmh).toBe(Math.round(distanceKm - 20));
    expect(travel.message).toBe(
      `Sign-in from Berlin, Germany 1 hour after one from Sydney, Australia, ${distanceKm.toLocaleString('en-US')} km away: ` +
        `that would mean travelling at least ${speedKmh.toLocaleString('en-US')} km/h`,
    );
    expect(result.reasons[1]!.message).toBe('First sign-in from Germany on this account');
  });

  it('blocks impossible travel on a device the account has never used', () => {
    const result = assessSignIn(
      signals({ device: PHONE }),
      history({ knownCountries: ['AU'], lastSuccessfulSignIn: { at: NOW - HOUR, geo: SYDNEY } }),
      defaultRiskPolicy,
    );
    expect(codes(result)).toEqual(['IMPOSSIBLE_TRAVEL', 'NEW_DEVICE', 'NEW_COUNTRY']);
    expect(result.decision).toBe('block');
    expect(result.score).toBe(95);
  });

  it('accepts the same trip when there was time to fly it', () => {
    const result = assessSignIn(
      signals(),
      history({ knownCountries: ['AU', 'DE'], lastSuccessfulSignIn: { at: NOW - 30 * HOUR, geo: SYDNEY } }),
      defaultRiskPolicy,
    );
    expect(result.decision).toBe('allow');
    expect(codes(result)).toEqual([]);
  });

  it('ignores short hops, unknown places and the geo data’s inaccuracy', () => {
    const minuteAgo = NOW - 60_000;
    expect(
      codes(
        assessSignIn(signals(), history({ lastSuccessfulSignIn: { at: minuteAgo, geo: POTSDAM } }), defaultRiskPolicy),
      ),
    ).toEqual([]);
    expect(
      codes(
        assessSignIn(
          signals({ geo: null }),
          history({ lastSuccessfulSignIn: { at: minuteAgo, geo: SYDNEY } }),
          defaultRiskPolicy,
        ),
      ),
    ).toEqual([]);
    expect(
      codes(
        assessSignIn(signals(), history({ lastSuccessfulSignIn: { at: minuteAgo, geo: null } }), defaultRiskPolicy),
      ),
    ).toEqual([]);
    // Two country-level positions 1,000 km each from the truth: 1,500 km apart proves nothing.
    const vague = (latitude: number): GeoLocation => ({ ...BERLIN, city: null, latitude, accuracyKm: 1000 });
    const result = assessSignIn(
      signals({ geo: vague(52) }),
      history({ lastSuccessfulSignIn: { at: minuteAgo, geo: vague(38.5) } }),
      defaultRiskPolicy,
    );
    expect(codes(result)).toEqual([]);
  });

  it('counts a last sign-in at the same instant as one minute earlier, not a division by zero', () => {
    const result = assessSignIn(
      signals(),
      history({ knownCountries: ['AU', 'DE'], lastSuccessfulSignIn: { at: NOW, geo: SYDNEY } }),
      defaultRiskPolicy,
    );
    expect(codes(result)).toEqual(['IMPOSSIBLE_TRAVEL']);
    expect(result.reasons[0]!.message).toContain('less than a minute after one from Sydney, Australia');
  });

  it('blocks a block-listed IP outright, even a known device on an allow-listed network', () => {
    const result = assessSignIn(
      signals({ ip: '203.0.113.7', ipReputation: { blocked: true, anonymizer: false, allowlisted: true } }),
      history(),
      defaultRiskPolicy,
    );
    expect(result.decision).toBe('block');
    expect(codes(result)).toEqual(['BAD_IP', 'ALLOWLISTED_IP']);
    expect(result.reasons[0]).toMatchObject({
      weight: 100,
      message: 'Sign-in attempt from a blocked network address (203.0.113.7)',
    });
    expect(result.score).toBe(60);
  });

  it('asks for a second factor through Tor or a known proxy', () => {
    const result = assessSignIn(
      signals({ ipReputation: { ...CLEAN, anonymizer: true } }),
      history(),
      defaultRiskPolicy,
    );
    expect(codes(result)).toEqual(['TOR_OR_ANONYMIZER']);
    expect(result.decision).toBe('require_mfa');
  });

  it('reacts to many recent failures on the account and from the IP', () => {
    const below = assessSignIn(signals(), history({ recentFailures: { account: 4, ip: 9 } }), defaultRiskPolicy);
    expect(below.decision).toBe('allow');

    const account = assessSignIn(signals(), history({ recentFailures: { account: 5, ip: 0 } }), defaultRiskPolicy);
    expect(account.decision).toBe('require_mfa');
    expect(account.reasons).toEqual([
      {
        code: 'FAILURE_VELOCITY_ACCOUNT',
        message: '5 failed sign-in attempts on this account in the last hour',
        weight: 30,
        detail: { failures: 5, windowMinutes: 60 },
      },
    ]);

    const ip = assessSignIn(signals(), history({ recentFailures: { account: 0, ip: 12 } }), defaultRiskPolicy);
    expect(ip.reasons[0]!.message).toBe('12 failed sign-in attempts from this network address in the last 15 minutes');

    // Stuffing from one address that finally guessed this password, on a new device: refused.
    const both = assessSignIn(
      signals({ device: PHONE }),
      history({ recentFailures: { account: 6, ip: 40 } }),
      defaultRiskPolicy,
    );
    expect(codes(both)).toEqual(['FAILURE_VELOCITY_ACCOUNT', 'FAILURE_VELOCITY_IP', 'NEW_DEVICE']);
    expect(both.decision).toBe('block');
  });

  it('lowers the risk on an allow-listed network', () => {
    const elsewhere = assessSignIn(signals({ device: PHONE }), history(), defaultRiskPolicy);
    const office = assessSignIn(
      signals({ device: PHONE, ipReputation: { ...CLEAN, allowlisted: true } }),
      history(),
      defaultRiskPolicy,
    );
    expect(office.score).toBeLessThan(elsewhere.score);
    expect(office.decision).toBe('allow');
    expect(office.reasons.at(-1)).toEqual({
      code: 'ALLOWLISTED_IP',
      message: 'Sign-in from a trusted network address',
      weight: -40,
      detail: { ip: '81.169.145.1' },
    });
    // The user still hears about the new device.
    expect(office.newDeviceNotice).toBe('New sign-in from Safari 17 on iOS (iPhone) in Berlin, Germany');
  });

  it('keeps the score within 0..100', () => {
    const everything = assessSignIn(
      signals({ device: PHONE, ipReputation: { blocked: true, anonymizer: true, allowlisted: false } }),
      history({
        knownCountries: ['AU'],
        lastSuccessfulSignIn: { at: NOW - HOUR, geo: SYDNEY },
        recentFailures: { account: 99, ip: 99 },
      }),
      defaultRiskPolicy,
    );
    expect(everything.reasons.reduce((sum, r) => sum + r.weight, 0)).toBeGreaterThan(100);
    expect(everything.score).toBe(100);

    const onlyCredit = assessSignIn(
      signals({ ipReputation: { ...CLEAN, allowlisted: true } }),
      history(),
      defaultRiskPolicy,
    );
    expect(onlyCredit.reasons.reduce((sum, r) => sum + r.weight, 0)).toBeLessThan(0);
    expect(onlyCredit.score).toBe(0);
  });

  it('follows the configured thresholds, weights and travel speed', () => {
    const lenient = parseRiskPolicy({ mfaThreshold: 40, blockThreshold: 90 });
    expect(assessSignIn(signals({ device: PHONE }), history(), lenient).decision).toBe('allow');

    const strict = parseRiskPolicy({ weights: { NEW_DEVICE: 80 } });
    expect(assessSignIn(signals({ device: PHONE }), history(), strict).decision).toBe('block');

    // Leipzig to Berlin (about 150 km) is too short by default; a slow max speed and no minimum catch it.
    const fromLeipzig = history({
      lastSuccessfulSignIn: { at: NOW - HOUR, geo: { ...BERLIN, city: 'Leipzig', latitude: 51.34, longitude: 12.37 } },
    });
    expect(codes(assessSignIn(signals(), fromLeipzig, defaultRiskPolicy))).toEqual([]);
    const slow = parseRiskPolicy({ impossibleTravel: { maxSpeedKmh: 100, minDistanceKm: 0 } });
    expect(codes(assessSignIn(signals(), fromLeipzig, slow))).toEqual(['IMPOSSIBLE_TRAVEL']);
  });

  it('validates policies and names the field at fault', () => {
    expect(defaultRiskPolicy).toMatchObject({
      mfaThreshold: 30,
      blockThreshold: 70,
      impossibleTravel: { maxSpeedKmh: 900, minDistanceKm: 300 },
      failureVelocity: { accountWindowMinutes: 60, accountThreshold: 5, ipWindowMinutes: 15, ipThreshold: 10 },
    });
    expect(parseRiskPolicy(undefined)).toEqual(defaultRiskPolicy);
    expect(() => parseRiskPolicy({ mfaThreshold: 80, blockThreshold: 70 })).toThrow(
      'Invalid risk policy: blockThreshold: mfaThreshold must be below blockThreshold',
    );
    expect(() => parseRiskPolicy({ weights: { NEW_DEVICE: 150 } })).toThrow(/weights\.NEW_DEVICE/);
    expect(() => parseRiskPolicy({ weights: { ALLOWLISTED_IP: 10 } })).toThrow(/weights\.ALLOWLISTED_IP/);
    expect(() => parseRiskPolicy({ impossibleTravel: { maxSpeedKmh: 0 } })).toThrow(/impossibleTravel\.maxSpeedKmh/);
  });

  it('is deterministic: the same inputs give the same answer whatever the clock says', () => {
    const input = [
      signals({ device: PHONE }),
      history({ knownCountries: ['AU'], lastSuccessfulSignIn: { at: NOW - HOUR, geo: SYDNEY } }),
    ] as const;
    vi.useFakeTimers({ now: NOW });
    const first = assessSignIn(...input, defaultRiskPolicy);
    vi.setSystemTime(NOW + 365 * 24 * HOUR);
    expect(assessSignIn(...input, defaultRiskPolicy)).toEqual(first);
  });

  it('describes elapsed time in words', () => {
    expect(describeElapsed(20_000)).toBe('less than a minute');
    expect(describeElapsed(60_000)).toBe('1 minute');
    expect(describeElapsed(45 * 60_000)).toBe('45 minutes');
    expect(describeElapsed(HOUR)).toBe('1 hour');
    expect(describeElapsed(2.5 * HOUR)).toBe('2.5 hours');
    expect(describeElapsed(72 * HOUR)).toBe('3 days');
  });
});
