/**
 * Secrets the server must read back (authenticator-app keys) are stored
 * encrypted: AES-256-GCM under a server key that is not in the database, so
 * a leaked database or backup does not hand out working second factors
 * (ASVS 6.4.1, 2.9). Each value is bound to its row (the associated data is
 * e.g. the user id), so a sealed value copied to another row does not open.
 *
 * Where the key comes from (`MFA_ENCRYPTION_KEY`): the environment (base64 of
 * 32 random bytes), required in production; in development and tests, a key
 * file made once in the data dir (mode 0600), since there is no secret
 * manager there. Values stored before encryption existed (no `enc:v1:`
 * prefix) are read as they are and sealed the next time they are written.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const PREFIX = 'enc:v1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;

export interface SecretBox {
  /** `enc:v1:<iv>:<ciphertext>:<tag>`, base64url parts. */
  seal(plaintext: string, boundTo: string): string;
  /** The plaintext; throws if the value was tampered with, belongs to another row, or the key changed. */
  open(stored: string, boundTo: string): string;
}

export type SecretKeySource = { kind: 'env'; key: Buffer } | { kind: 'file'; path: string };

/** Base64 of exactly 32 bytes, or null. */
export function parseSecretKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return null;
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === KEY_BYTES ? key : null;
}

/** The key itself: from the environment, or the data dir's key file (made on first use, readable by this user only). */
export function loadSecretKey(source: SecretKeySource): { key: Buffer; created: boolean } {
  if (source.kind === 'env') return { key: source.key, created: false };
  if (existsSync(source.path)) {
    const key = parseSecretKey(readFileSync(source.path, 'utf8'));
    if (key === null) {
      throw new Error(`The key file ${source.path} does not hold a base64 32-byte key; restore it from a backup.`);
    }
    return { key, created: false };
  }
  mkdirSync(dirname(source.path), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // `wx`: two processes starting at once cannot both write a key.
  writeFileSync(source.path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(source.path, 0o600);
  return { key, created: true };
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES) throw new RangeError('The secret key must be 32 bytes');
  return {
    seal(plaintext, boundTo) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(boundTo, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'));
      return `${PREFIX}${parts.join(':')}`;
    },
    open(stored, boundTo) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [iv, ciphertext, tag] = stored
        .slice(PREFIX.length)
        .split(':')
        .map((part) => Buffer.from(part, 'base64url'));
      if (iv === undefined || ciphertext === undefined || tag === undefined || iv.length !== IV_BYTES) {
        throw new Error('A stored secret is malformed');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('A stored secret does not open with this server key (MFA_ENCRYPTION_KEY changed?)');
      }
    },
  };
}
