/** Random secrets, their storage hashes, and constant-time comparison. */
import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';

/** An opaque bearer secret: a type prefix (so leaked tokens are recognisable) + 256 random bits. */
export function newToken(prefix: 'mla' | 'mlr'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens and codes are stored only as SHA-256: a database leak does not leak live credentials. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(hashSecret(a), 'hex');
  const right = Buffer.from(hashSecret(b), 'hex');
  return timingSafeEqual(left, right);
}

/** A uniformly random 6-digit code (email verification, reset, sign-in codes). */
export function newSixDigitCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}

export function newId(): string {
  return randomUUID();
}
