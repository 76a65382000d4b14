import { describe, expect, it } from 'vitest';
import { canonicalIp, isPublicIp, parseIp, parseIpRange } from './ip-address.ts';

describe('IP addresses', () => {
  it('reads an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    expect(parseIp('::ffff:203.0.113.7')).toEqual(parseIp('203.0.113.7'));
    expect(parseIp('0:0:0:0:0:FFFF:cb00:7107')).toEqual(parseIp('203.0.113.7'));
    expect(canonicalIp('::FFFF:8.8.8.8')).toBe('8.8.8.8');
  });

  it('writes one spelling per address, so counts per IP are not split', () => {
    expect(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp(' 8.8.8.8 ')).toBe('8.8.8.8');
    expect(canonicalIp('not an address')).toBe('not an address');
    expect(parseIp('999.1.1.1')).toBeNull();
    expect(parseIp('')).toBeNull();
  });

  it('parses CIDR ranges of both families, ignoring host bits', () => {
    expect(parseIpRange('10.1.2.3/8')).toEqual({ family: 4, start: 0x0a000000n, end: 0x0affffffn });
    expect(parseIpRange('2001:db8::/32')).toEqual({
      family: 6,
      start: 0x20010db8n << 96n,
      end: (0x20010db8n << 96n) | ((1n << 96n) - 1n),
    });
    expect(parseIpRange('::ffff:10.0.0.0/104')).toEqual(parseIpRange('10.0.0.0/8'));
    expect(parseIpRange('0.0.0.0/0')).toEqual({ family: 4, start: 0n, end: 0xffffffffn });
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/x', '::ffff:0:0/64']) {
      expect(parseIpRange(bad), bad).toBeNull();
    }
  });

  it('knows which addresses can never locate a person', () => {
    for (const ip of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.1.1',
      '100.64.0.1',
      '::1',
      'fe80::1',
    ]) {
      expect(isPublicIp(parseIp(ip)!), ip).toBe(false);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
      expect(isPublicIp(parseIp(ip)!), ip).toBe(true);
    }
  });
});
