/**
 * Offline geo-IP: where an address is, from the GeoLite2-derived data the
 * `geoip-lite` package ships (no network, no licence key at run time), and
 * the pure helpers the engine needs to talk about places (distance, "Berlin,
 * Germany").
 *
 * The data is big, so it is loaded on first use, once, and never at import:
 * geoip-lite reads all of it into memory synchronously when the module is
 * first required. Measured on the dev machine (Node 24.21, geoip-lite
 * 2.0.3, 2-core AMD EPYC VM): loading takes about 73 ms with the files in
 * the OS page cache and about 120 ms on a cold first read, and adds about
 * 110 MB of resident memory; a `lookupGeo` afterwards costs about 3 µs for
 * IPv4 and 7 µs for IPv6 (parse, canonicalise, in-memory binary search).
 * Call `preloadGeoIp()` at start-up (or just after ready) so no sign-in
 * pays the load; a sign-in from a private address never triggers it.
 *
 * geoip-lite finds its data files beside its own code (`__dirname`), so a
 * bundled server must keep it external and ship it in node_modules.
 */
import { createRequire } from 'node:module';
import { formatIp, isPublicIp, parseIp } from './ip-address.ts';

export interface GeoLocation {
  /** ISO 3166-1 alpha-2 country code, e.g. `DE`. */
  country: string;
  /** ISO 3166-2 subdivision code without the country, e.g. `BE`; null when the data has none. */
  region: string | null;
  city: string | null;
  latitude: number;
  longitude: number;
  /** How far (km) the true location may be from the coordinates, when the data says. */
  accuracyKm?: number;
}

/** The part of geoip-lite's API used here (the package ships no types). */
interface GeoIpLite {
  lookup(ip: string): {
    country: string;
    region: string;
    city: string;
    ll: [number | null, number | null];
    area?: number;
  } | null;
}

let database: GeoIpLite | undefined;
let loadMs: number | undefined;

function geoIpDatabase(): GeoIpLite {
  if (database === undefined) {
    const started = performance.now();
    database = createRequire(import.meta.url)('geoip-lite') as GeoIpLite;
    loadMs = performance.now() - started;
  }
  return database;
}

/**
 * Loads the geo data now (once) instead of on the first lookup. Returns
 * how long this call took: the real load the first time, about 0 after.
 */
export function preloadGeoIp(): { loadMs: number } {
  const started = performance.now();
  geoIpDatabase();
  return { loadMs: performance.now() - started };
}

/** How long the one load took, or null while the data is not loaded. */
export function geoIpLoadMs(): number | null {
  return loadMs ?? null;
}

/**
 * Where `ip` is, or null for addresses that locate no one (private,
 * loopback, link-local, documentation…), for text that is not an address,
 * and for public addresses the data does not know.
 */
export function lookupGeo(ip: string): GeoLocation | null {
  const parsed = parseIp(ip);
  // Decided before touching the data: a local sign-in never loads it, and a data update cannot start
  // "locating" carrier-grade NAT or documentation ranges (the shipped data locates none of them today).
  if (parsed === null || !isPublicIp(parsed)) return null;
  // Canonical text: a mapped address is looked up as the IPv4 address it carries, zone ids are gone.
  const hit = geoIpDatabase().lookup(formatIp(parsed));
  if (hit === null || hit.country === '') return null;
  const [latitude, longitude] = hit.ll;
  if (latitude === null || longitude === null) return null;
  return {
    country: hit.country,
    region: hit.region === '' ? null : hit.region,
    city: hit.city === '' ? null : hit.city,
    latitude,
    longitude,
    ...(hit.area !== undefined && hit.area > 0 ? { accuracyKm: hit.area } : {}),
  };
}

const EARTH_RADIUS_KM = 6371.0088;
const toRadians = (degrees: number): number => (degrees * Math.PI) / 180;

/** Great-circle (haversine) distance in km between two places. */
export function distanceKm(
  a: Pick<GeoLocation, 'latitude' | 'longitude'>,
  b: Pick<GeoLocation, 'latitude' | 'longitude'>,
): number {
  const dLat = toRadians(b.latitude - a.latitude);
  const dLon = toRadians(b.longitude - a.longitude);
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(toRadians(a.latitude)) * Math.cos(toRadians(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

const countryNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/** `Germany` for `DE`; the code itself when it is not a known region. */
export function countryName(code: string): string {
  try {
    return countryNames.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** What a user reads for a place: `Berlin, Germany`, or `Germany` when the city is unknown. */
export function describePlace(geo: Pick<GeoLocation, 'country' | 'city'>): string {
  const country = countryName(geo.country);
  return geo.city === null ? country : `${geo.city}, ${country}`;
}
