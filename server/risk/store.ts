/**
 * What the risk engine needs persisted: the devices each account has
 * signed in from and the log of sign-in attempts. Tables come from
 * migration.ts; merge `RiskTables` into server/db/schema.ts's `Database`.
 *
 * The engine stays pure: `loadSignInHistory` reads everything it needs
 * into a plain `SignInHistory`, and the service records the outcome with
 * `recordSignInAttempt` (and `rememberDevice` once a sign-in succeeded,
 * after any second factor).
 */
import type { Generated, Kysely } from 'kysely';
import type { RiskAssessment, SignInHistory } from './engine.ts';
import type { GeoLocation } from './geo.ts';
import { canonicalIp } from './ip-address.ts';

export interface KnownDevicesTable {
  user_id: string;
  /** device.ts `DeviceIdentity.fingerprint` (a hash: no raw install id is stored). */
  fingerprint: string;
  /** The latest label seen, e.g. `Chrome 156 on Linux` (the version moves with updates). */
  label: string;
  first_seen_at: number;
  last_seen_at: number;
  last_ip: string;
  last_country: string | null;
}

export interface SignInAttemptsTable {
  id: Generated<number>;
  user_id: string | null;
  email_normalized: string;
  ip: string;
  /** 1 when the sign-in completed (after any second factor), else 0. */
  succeeded: number;
  at: number;
  country: string | null;
  region: string | null;
  city: string | null;
  /** Coordinates in micro-degrees (portable integer columns). */
  latitude_e6: number | null;
  longitude_e6: number | null;
  accuracy_km: number | null;
  device_fingerprint: string | null;
  device_label: string | null;
  risk_score: number | null;
  decision: string | null;
  reason_codes: Generated<string>;
}

/**
 * The tables this module owns, to merge into server/db/schema.ts's
 * `Database`. A type alias rather than an interface so it also fits
 * `db.withTables<RiskTables>()`, which wants an index-signature-compatible type.
 */
export type RiskTables = {
  known_devices: KnownDevicesTable;
  sign_in_attempts: SignInAttemptsTable;
};

/**
 * What these functions need of a database handle: the query builders over
 * the risk tables. Both `Kysely<Database>` and a `Transaction<Database>`
 * fit once `Database` includes `RiskTables` (a `Kysely<RiskTables>`
 * parameter would refuse the transaction).
 */
export type RiskDb = Pick<Kysely<RiskTables>, 'selectFrom' | 'insertInto' | 'deleteFrom'>;

export interface KnownDevice {
  fingerprint: string;
  label: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  lastIp: string;
  lastCountry: string | null;
}

export interface HistoryQuery {
  /** Null when the email matched no account: only the per-email and per-IP failures are loaded. */
  userId: string | null;
  emailNormalized: string;
  ip: string;
  now: number;
}

/** The windows failures are counted in: the policy's (engine.ts `RiskPolicy.failureVelocity`). */
export interface FailureWindows {
  accountWindowMinutes: number;
  ipWindowMinutes: number;
}

const E6 = 1_000_000;

function geoFromRow(row: {
  country: string | null;
  region: string | null;
  city: string | null;
  latitude_e6: number | null;
  longitude_e6: number | null;
  accuracy_km: number | null;
}): GeoLocation | null {
  if (row.country === null || row.latitude_e6 === null || row.longitude_e6 === null) return null;
  return {
    country: row.country,
    region: row.region,
    city: row.city,
    latitude: row.latitude_e6 / E6,
    longitude: row.longitude_e6 / E6,
    ...(row.accuracy_km === null ? {} : { accuracyKm: row.accuracy_km }),
  };
}

async function countFailures(
  db: RiskDb,
  column: 'email_normalized' | 'ip',
  value: string,
  since: number,
): Promise<number> {
  const row = await db
    .selectFrom('sign_in_attempts')
    .select((eb) => eb.fn.countAll<number | string>().as('failures'))
    .where(column, '=', value)
    .where('succeeded', '=', 0)
    .where('at', '>=', since)
    .executeTakeFirstOrThrow();
  return Number(row.failures);
}

/**
 * Everything the engine needs about an account and an IP, as of `now`.
 * Account failures are counted per sign-in email, so probing an account
 * counts the same whether or not the email exists.
 */
export async function loadSignInHistory(
  db: RiskDb,
  query: HistoryQuery,
  windows: FailureWindows,
): Promise<SignInHistory> {
  const ip = canonicalIp(query.ip);
  const [account, fromIp] = await Promise.all([
    countFailures(db, 'email_normalized', query.emailNormalized, query.now - windows.accountWindowMinutes * 60_000),
    countFailures(db, 'ip', ip, query.now - windows.ipWindowMinutes * 60_000),
  ]);
  const recentFailures = { account, ip: fromIp };
  const { userId } = query;
  if (userId === null) {
    return { knownDeviceFingerprints: [], knownCountries: [], lastSuccessfulSignIn: null, recentFailures };
  }

  const [devices, attemptCountries, last] = await Promise.all([
    db.selectFrom('known_devices').select(['fingerprint', 'last_country']).where('user_id', '=', userId).execute(),
    db
      .selectFrom('sign_in_attempts')
      .select('country')
      .distinct()
      .where('user_id', '=', userId)
      .where('succeeded', '=', 1)
      .where('country', 'is not', null)
      .execute(),
    db
      .selectFrom('sign_in_attempts')
      .select(['at', 'country', 'region', 'city', 'latitude_e6', 'longitude_e6', 'accuracy_km'])
      .where('user_id', '=', userId)
      .where('succeeded', '=', 1)
      .where('at', '<=', query.now)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);
  const countries = new Set<string>();
  for (const { country } of attemptCountries) if (country !== null) countries.add(country);
  for (const { last_country } of devices) if (last_country !== null) countries.add(last_country);
  return {
    knownDeviceFingerprints: devices.map((d) => d.fingerprint),
    knownCountries: [...countries].sort(),
    lastSuccessfulSignIn: last === undefined ? null : { at: last.at, geo: geoFromRow(last) },
    recentFailures,
  };
}

export interface SignInAttempt {
  userId: string | null;
  emailNormalized: string;
  ip: string;
  succeeded: boolean;
  at: number;
  geo: GeoLocation | null;
  device: { fingerprint: string; label: string } | null;
  /** Null when the attempt ended before it was assessed (e.g. a wrong password). */
  assessment: Pick<RiskAssessment, 'score' | 'decision' | 'reasons'> | null;
}

/** Appends one attempt to the log; returns its id. */
export async function recordSignInAttempt(db: RiskDb, attempt: SignInAttempt): Promise<number> {
  const { geo, device, assessment } = attempt;
  const row = await db
    .insertInto('sign_in_attempts')
    .values({
      user_id: attempt.userId,
      email_normalized: attempt.emailNormalized,
      ip: canonicalIp(attempt.ip),
      succeeded: attempt.succeeded ? 1 : 0,
      at: attempt.at,
      country: geo?.country ?? null,
      region: geo?.region ?? null,
      city: geo?.city ?? null,
      latitude_e6: geo === null ? null : Math.round(geo.latitude * E6),
      longitude_e6: geo === null ? null : Math.round(geo.longitude * E6),
      accuracy_km: geo?.accuracyKm ?? null,
      device_fingerprint: device?.fingerprint ?? null,
      device_label: device?.label ?? null,
      risk_score: assessment?.score ?? null,
      decision: assessment?.decision ?? null,
      reason_codes: assessment?.reasons.map((r) => r.code).join(',') ?? '',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export interface DeviceSighting {
  userId: string;
  fingerprint: string;
  label: string;
  at: number;
  ip: string;
  country: string | null;
}

/** Records a device as known to the account (first sight) or refreshes when and where it was last seen. */
export async function rememberDevice(db: RiskDb, sighting: DeviceSighting): Promise<void> {
  const ip = canonicalIp(sighting.ip);
  await db
    .insertInto('known_devices')
    .values({
      user_id: sighting.userId,
      fingerprint: sighting.fingerprint,
      label: sighting.label,
      first_seen_at: sighting.at,
      last_seen_at: sighting.at,
      last_ip: ip,
      last_country: sighting.country,
    })
    .onConflict((oc) =>
      oc.columns(['user_id', 'fingerprint']).doUpdateSet({
        label: sighting.label,
        last_seen_at: sighting.at,
        last_ip: ip,
        last_country: sighting.country,
      }),
    )
    .execute();
}

/** The account's known devices, most recently seen first. */
export async function listKnownDevices(db: RiskDb, userId: string): Promise<KnownDevice[]> {
  const rows = await db
    .selectFrom('known_devices')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('last_seen_at', 'desc')
    .orderBy('fingerprint')
    .execute();
  return rows.map((row) => ({
    fingerprint: row.fingerprint,
    label: row.label,
    firstSeenAt: new Date(row.first_seen_at),
    lastSeenAt: new Date(row.last_seen_at),
    lastIp: row.last_ip,
    lastCountry: row.last_country,
  }));
}

/** Forgets a device (the user removed it): its next sign-in is a new device again. True when one was removed. */
export async function forgetDevice(db: RiskDb, userId: string, fingerprint: string): Promise<boolean> {
  const result = await db
    .deleteFrom('known_devices')
    .where('user_id', '=', userId)
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Deletes attempts older than `before` (retention: they hold IPs and emails). Returns how many. */
export async function pruneSignInAttempts(db: RiskDb, before: number): Promise<number> {
  const result = await db.deleteFrom('sign_in_attempts').where('at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
