/**
 * IP address and CIDR parsing for the risk signals: one numeric form
 * (bigint) for both families so lists, geo lookups and the database agree
 * on what "the same address" is. An IPv4-mapped IPv6 address
 * (`::ffff:203.0.113.7`, what a dual-stack socket reports for an IPv4
 * client) is the IPv4 address it carries.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  value: bigint;
}

/** An inclusive range of addresses of one family. */
export interface IpRange {
  family: IpFamily;
  start: bigint;
  end: bigint;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const MAPPED_PREFIX = 0xffffn << 32n;
const LOW_32 = (1n << 32n) - 1n;

function parseIpv4(text: string): bigint {
  let value = 0n;
  for (const octet of text.split('.')) value = (value << 8n) | BigInt(Number(octet));
  return value;
}

function parseIpv6(text: string): bigint {
  let body = text;
  const lastColon = body.lastIndexOf(':');
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) stands for the last two groups.
  if (body.includes('.', lastColon)) {
    const v4 = parseIpv4(body.slice(lastColon + 1));
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = body.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  return [...headGroups, ...Array.from({ length: zeros }, () => '0'), ...restGroups].reduce(
    (acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)),
    0n,
  );
}

/**
 * Parses an IPv4 or IPv6 address (zone ids like `fe80::1%eth0` are
 * dropped); null when it is not one. IPv4-mapped IPv6 becomes IPv4.
 */
export function parseIp(text: string): ParsedIp | null {
  const trimmed = text.trim();
  if (isIPv4(trimmed)) return { family: 4, value: parseIpv4(trimmed) };
  const unzoned = trimmed.split('%')[0] ?? '';
  if (!isIPv6(unzoned)) return null;
  const value = parseIpv6(unzoned.toLowerCase());
  if (value >> 32n === MAPPED_PREFIX >> 32n) return { family: 4, value: value & LOW_32 };
  return { family: 6, value };
}

export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (of two or more) of zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * One spelling per address (lower-case, compressed IPv6; IPv4-mapped IPv6
 * as plain IPv4), so counts per IP in the database are not split between
 * spellings. Text that is not an address is returned trimmed.
 */
export function canonicalIp(text: string): string {
  const parsed = parseIp(text);
  return parsed === null ? text.trim() : formatIp(parsed);
}

/**
 * Parses `203.0.113.7`, `198.51.100.0/24` or `2001:db8::/32` into the
 * range it covers; null when it is none of them. Host bits set below the
 * prefix (`10.1.2.3/8`) are ignored: the whole network is meant.
 */
export function parseIpRange(text: string): IpRange | null {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(address);
  if (ip === null) return null;
  // A mapped address with a prefix is written against the IPv6 width: keep that meaning.
  const writtenAsV6 = !isIPv4(address.trim());
  const width = writtenAsV6 ? 128 : BITS[ip.family];
  if (prefixText === undefined) return { family: ip.family, start: ip.value, end: ip.value };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  let prefix = Number(prefixText);
  if (prefix > width) return null;
  if (writtenAsV6 && ip.family === 4) {
    if (prefix < 96) return null; // wider than ::ffff:0:0/96 is not an IPv4 range
    prefix -= 96;
  }
  const hostBits = BigInt(BITS[ip.family] - prefix);
  const start = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, start, end: start | ((1n << hostBits) - 1n) };
}

function ranges(family: IpFamily, cidrs: string[]): IpRange[] {
  return cidrs.map((cidr) => {
    const range = parseIpRange(cidr);
    if (range?.family !== family) throw new Error(`bad built-in range ${cidr}`);
    return range;
  });
}

/**
 * Addresses that never locate a person: private, loopback, link-local,
 * shared (carrier-grade NAT), documentation, multicast and reserved space
 * (IANA special-purpose registries). Geo lookups treat them as unknown.
 */
const NON_PUBLIC: Record<IpFamily, IpRange[]> = {
  4: ranges(4, [
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.0.2.0/24',
    '192.168.0.0/16',
    '198.18.0.0/15',
    '198.51.100.0/24',
    '203.0.113.0/24',
    '224.0.0.0/4',
    '240.0.0.0/4',
  ]),
  6: ranges(6, ['::/128', '::1/128', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'ff00::/8']),
};

export function isPublicIp(ip: ParsedIp): boolean {
  return !NON_PUBLIC[ip.family].some((r) => ip.value >= r.start && ip.value <= r.end);
}
