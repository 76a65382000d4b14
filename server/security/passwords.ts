/**
 * Password hashing with argon2id at OWASP's parameters (>= 19 MiB, t >= 2,
 * p = 1) through @node-rs/argon2 (prebuilt, installs offline).
 */
import { hash, verify, type Algorithm } from '@node-rs/argon2';

// The package exports a const enum, which type stripping cannot inline: Argon2id is 2.
const ARGON2ID = 2 as Algorithm.Argon2id;
import type { SecurityConfig } from '../config.ts';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant work whether or not the account exists: pass `null` for an unknown account. */
  verify(storedHash: string | null, password: string): Promise<boolean>;
}

export function createPasswordHasher(params: SecurityConfig['argon2']): PasswordHasher {
  const options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryKiB,
    timeCost: params.iterations,
    parallelism: params.parallelism,
  };
  // A real hash at the same cost, verified against when the account is unknown,
  // so "no such email" and "wrong password" take the same time (no enumeration).
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, options),
    async verify(storedHash, password) {
      if (storedHash === null) {
        dummy ??= hash('megilance-dummy-password', options);
        await verify(await dummy, password).catch(() => false);
        return false;
      }
      try {
        return await verify(storedHash, password);
      } catch {
        return false;
      }
    },
  };
}
