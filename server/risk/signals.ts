/**
 * Gathers one sign-in's signals from what the request carries: the IP
 * (located offline, checked against the reputation lists) and the client's
 * attributes (labelled and fingerprinted). The accounts service calls this,
 * then `loadSignInHistory` (store.ts), then `assessSignIn` (engine.ts).
 */
import { identifyDevice, type ClientAttributes, type DeviceIdentity } from './device.ts';
import type { SignInSignals } from './engine.ts';
import { lookupGeo, type GeoLocation } from './geo.ts';
import { canonicalIp } from './ip-address.ts';
import { checkIpReputation, type ReputationLists } from './ip-reputation.ts';

export interface SignInRequest {
  /** The client's address as the server sees it (behind a proxy: the trusted forwarded address). */
  ip: string;
  at: number;
  client: ClientAttributes;
}

export interface GatheredSignals {
  signals: SignInSignals;
  /** Everything known about the device, for the session row and `rememberDevice`. */
  device: DeviceIdentity;
}

export function gatherSignInSignals(
  request: SignInRequest,
  lists: ReputationLists,
  locate: (ip: string) => GeoLocation | null = lookupGeo,
): GatheredSignals {
  const ip = canonicalIp(request.ip);
  const device = identifyDevice(request.client);
  return {
    signals: {
      at: request.at,
      ip,
      geo: locate(ip),
      device: { fingerprint: device.fingerprint, label: device.label },
      ipReputation: checkIpReputation(ip, lists),
    },
    device,
  };
}
