import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkIpReputation,
  emptyIpList,
  IpListFormatError,
  loadIpList,
  loadReputationLists,
  parseIpList,
} from './ip-reputation.ts';

const dir = mkdtempSync(join(tmpdir(), 'megilance-iplists-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function listFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('IP reputation lists', () => {
  it('loads addresses and CIDR ranges of both families, with comments and blank lines', () => {
    const file = listFile(
      'block.txt',
      [
        '# known credential-stuffing sources',
        '203.0.113.7',
        '',
        '198.51.100.0/24   # a whole hosting range',
        '2001:db8:bad::/48',
        '2001:db8::dead',
        '192.0.2.0/28 ; SBL000001 (Spamhaus DROP style)',
        '   ',
      ].join('\n'),
    );
    const list = loadIpList([file]);
    expect(list.entries).toBe(5);
    expect(list.sources).toEqual([file]);

    expect(list.has('203.0.113.7')).toBe(true);
    expect(list.has('203.0.113.8')).toBe(false);
    // CIDR edges: first and last address in, the neighbours out.
    expect(list.has('198.51.100.0')).toBe(true);
    expect(list.has('198.51.100.255')).toBe(true);
    expect(list.has('198.51.99.255')).toBe(false);
    expect(list.has('198.51.101.0')).toBe(false);
    expect(list.has('192.0.2.15')).toBe(true);
    expect(list.has('192.0.2.16')).toBe(false);

    expect(list.has('2001:db8:bad:1234::1')).toBe(true);
    expect(list.has('2001:db8:bae::1')).toBe(false);
    expect(list.has('2001:0db8:0000:0000:0000:0000:0000:dead')).toBe(true);
    // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6.
    expect(list.has('::ffff:203.0.113.7')).toBe(true);
    expect(list.has('not an ip')).toBe(false);
  });

  it('names the file and line of a malformed entry', () => {
    const file = listFile('typo.txt', '# office\n10.0.0.0/8\n10.0.0.300\n');
    let caught: unknown;
    try {
      loadIpList([file]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IpListFormatError);
    expect((caught as IpListFormatError).message).toBe(
      `${file}:3: "10.0.0.300" is not an IP address or CIDR range (expected e.g. 203.0.113.7, 198.51.100.0/24 or 2001:db8::/32)`,
    );
    expect(caught).toMatchObject({ file, line: 3, entry: '10.0.0.300' });

    expect(() => parseIpList('2001:db8::/129', 'inline')).toThrow('inline:1: "2001:db8::/129"');
  });

  it('names a list file that cannot be read', () => {
    const missing = join(dir, 'missing.txt');
    expect(() => loadIpList([missing])).toThrow(`Cannot read IP list ${missing}`);
  });

  it('merges several files, and overlapping ranges, into one list', () => {
    const a = listFile('a.txt', '10.0.0.0/16\n10.0.128.0/17\n');
    const b = listFile('b.txt', '10.1.0.0/16\n');
    const list = loadIpList([a, b]);
    expect(list.has('10.0.200.1')).toBe(true);
    expect(list.has('10.1.255.255')).toBe(true);
    expect(list.has('10.2.0.0')).toBe(false);
  });

  it('answers quickly and correctly on a large list', () => {
    // 50,000 scattered /32s and 50,000 /24s.
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(`${11 + (i % 200)}.${(i * 7) % 256}.${(i * 13) % 256}.${i % 256}`);
    for (let i = 0; i < 50_000; i++) lines.push(`${60 + (i % 100)}.${i % 256}.${Math.floor(i / 256) % 256}.0/24`);
    const list = parseIpList(lines.join('\n'), 'generated');
    expect(list.entries).toBe(100_000);
    expect(list.has(lines[12_345]!)).toBe(true);
    expect(lines[50_100]).toBe('60.100.0.0/24');
    expect(list.has('60.100.0.77')).toBe(true);
    expect(list.has('60.100.1.77')).toBe(false);
    expect(list.has('223.255.255.1')).toBe(false);

    const started = performance.now();
    for (let i = 0; i < 10_000; i++) list.has(`8.8.${i % 256}.${i % 251}`);
    const perCheckUs = ((performance.now() - started) * 1000) / 10_000;
    // Generous bound (measured ≈1 µs): a linear scan would take ~1,000× longer.
    expect(perCheckUs).toBeLessThan(50);
  });

  it('reports what the lists say about an address', () => {
    const lists = loadReputationLists({
      block: [listFile('blk.txt', '203.0.113.0/24\n')],
      anonymizer: [listFile('tor.txt', '185.220.101.1\n')],
      allow: [listFile('allow.txt', '198.51.100.0/24\n')],
    });
    expect(checkIpReputation('203.0.113.9', lists)).toEqual({ blocked: true, anonymizer: false, allowlisted: false });
    expect(checkIpReputation('185.220.101.1', lists)).toEqual({ blocked: false, anonymizer: true, allowlisted: false });
    expect(checkIpReputation('198.51.100.1', lists)).toEqual({ blocked: false, anonymizer: false, allowlisted: true });
    expect(emptyIpList.has('203.0.113.9')).toBe(false);
    expect(loadReputationLists({ block: [], anonymizer: [], allow: [] }).block.entries).toBe(0);
  });
});
