import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSecretBox, loadSecretKey, parseSecretKey } from './secret-box.ts';

const dir = mkdtempSync(join(tmpdir(), 'megilance-secret-box-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the secret box', () => {
  const box = createSecretBox(Buffer.alloc(32, 9));

  it('seals differently each time and opens to the same text', () => {
    const a = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    const b = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    expect(a).not.toBe(b);
    expect(box.open(a, 'user-1')).toBe('JBSWY3DPEHPK3PXP');
    expect(box.open(b, 'user-1')).toBe('JBSWY3DPEHPK3PXP');
  });

  it('refuses a tampered value', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    const parts = sealed.split(':');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0] = ciphertext[0]! ^ 1;
    parts[3] = ciphertext.toString('base64url');
    expect(() => box.open(parts.join(':'), 'user-1')).toThrow(/does not open/);
    expect(() => box.open('enc:v1:nonsense', 'user-1')).toThrow(/malformed/);
  });

  it('reads keys as base64 of exactly 32 bytes', () => {
    expect(parseSecretKey(Buffer.alloc(32, 1).toString('base64'))).toHaveLength(32);
    expect(parseSecretKey(Buffer.alloc(32, 1).toString('base64url'))).toHaveLength(32);
    expect(parseSecretKey(Buffer.alloc(16, 1).toString('base64'))).toBeNull();
    expect(parseSecretKey('not base64!')).toBeNull();
  });

  it('makes a key file once, readable by its owner only, and reads it back after a restart', () => {
    const path = join(dir, 'keys', 'mfa-encryption.key');
    const first = loadSecretKey({ kind: 'file', path });
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = loadSecretKey({ kind: 'file', path });
    expect(again.created).toBe(false);
    expect(again.key.equals(first.key)).toBe(true);
    expect(readFileSync(path, 'utf8').trim()).toBe(first.key.toString('base64'));
  });
});
