/**
 * Lookups against the data geoip-lite ships (pinned by package-lock.json).
 * The addresses were chosen because their country has not moved in years:
 * Google's public DNS (US), APNIC/Cloudflare's 1.1.1.1 (registered in
 * Australia) and the Technische Universität Berlin (DE, Berlin).
 */
import { describe, expect, it, vi } from 'vitest';
import { countryName, describePlace, distanceKm, geoIpLoadMs, lookupGeo, preloadGeoIp } from './geo.ts';

describe('offline geo-IP', () => {
  it('locates real public addresses from the shipped data', () => {
    expect(lookupGeo('8.8.8.8')?.country).toBe('US');
    expect(lookupGeo('2001:4860:4860::8888')?.country).toBe('US');
    expect(lookupGeo('1.1.1.1')?.country).toBe('AU');

    const berlin = lookupGeo('130.149.7.201');
    expect(berlin).toMatchObject({ country: 'DE', city: 'Berlin' });
    expect(berlin!.latitude).toBeCloseTo(52.5, 0);
    expect(berlin!.longitude).toBeCloseTo(13.4, 0);
    expect(berlin!.accuracyKm).toBeGreaterThan(0);
  });

  it('looks up an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(lookupGeo('::ffff:130.149.7.201')).toEqual(lookupGeo('130.149.7.201'));
    expect(lookupGeo('::ffff:8.8.8.8')?.country).toBe('US');
  });

  it('says nothing for private, loopback, link-local and malformed addresses', () => {
    for (const ip of [
      '10.0.0.1',
      '172.20.1.1',
      '192.168.1.10',
      '127.0.0.1',
      '::1',
      'fe80::1',
      '100.64.0.1',
      '169.254.1.1',
      '::ffff:192.168.1.10',
      '203.0.113.7',
      'not an ip',
      '',
    ]) {
      expect(lookupGeo(ip), ip).toBeNull();
    }
  });

  it('does not load the data for addresses that locate no one (local sign-ins cost no memory)', async () => {
    vi.resetModules();
    const fresh = await import('./geo.ts');
    expect(fresh.lookupGeo('127.0.0.1')).toBeNull();
    expect(fresh.lookupGeo('::ffff:192.168.1.10')).toBeNull();
    expect(fresh.lookupGeo('100.64.0.1')).toBeNull();
    expect(fresh.geoIpLoadMs()).toBeNull();
    expect(fresh.lookupGeo('8.8.8.8')?.country).toBe('US');
    expect(fresh.geoIpLoadMs()).toBeGreaterThan(0);
  });

  it('loads the data once', () => {
    lookupGeo('8.8.8.8');
    expect(geoIpLoadMs()).toBeGreaterThan(0);
    // Already loaded: a second preload is a no-op.
    expect(preloadGeoIp().loadMs).toBeLessThan(5);
  });

  it('measures great-circle distance and names places for people', () => {
    const sydney = { latitude: -33.8688, longitude: 151.2093 };
    const berlin = { latitude: 52.52, longitude: 13.405 };
    expect(distanceKm(sydney, berlin)).toBeGreaterThan(16_000);
    expect(distanceKm(sydney, berlin)).toBeLessThan(16_200);
    expect(distanceKm(berlin, berlin)).toBe(0);
    expect(describePlace({ country: 'DE', city: 'Berlin' })).toBe('Berlin, Germany');
    expect(describePlace({ country: 'AU', city: null })).toBe('Australia');
    expect(countryName('US')).toBe('United States');
  });
});
