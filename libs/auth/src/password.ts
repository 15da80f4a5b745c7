import argon2 from 'argon2';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane). The parameters travel in each hash. */
export const PASSWORD_HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, PASSWORD_HASH_OPTIONS);
}

/** False for a wrong password and for a hash that cannot be read; never throws. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password with the same parameters as real ones. Verifying an unknown
 * username's attempt against it costs what a real verification costs, so timing does not tell
 * whether the account exists.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= argon2.hash(`dummy-${Math.random()}-${Date.now()}`, PASSWORD_HASH_OPTIONS);
  return dummy;
}
