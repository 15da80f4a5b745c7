import type { EnvironmentVariables } from './env.validation';

/** The master keys as bytes: `current` (MASTER_KEY) wraps new data keys; `old` (MASTER_KEY_OLD) only unwraps, during a rotation. */
export interface MasterKeys {
  current: Buffer;
  old: Buffer[];
}

type KeyEnv = Pick<EnvironmentVariables, 'MASTER_KEY' | 'MASTER_KEY_OLD'>;

const parsed = new WeakMap<object, MasterKeys>();

/** What is wrong with MASTER_KEY / MASTER_KEY_OLD, if anything (loadEnv reports these at start). */
export function masterKeyProblems(env: KeyEnv): string[] {
  const problems: string[] = [];
  if (env.MASTER_KEY && Buffer.from(env.MASTER_KEY, 'base64').length !== 32) problems.push('MASTER_KEY must be base64 of exactly 32 bytes');
  const old = oldKeyTexts(env);
  if (old.some((k) => Buffer.from(k, 'base64').length !== 32))
    problems.push('MASTER_KEY_OLD must be base64 keys of exactly 32 bytes, comma-separated');
  return problems;
}

function oldKeyTexts(env: KeyEnv): string[] {
  return (env.MASTER_KEY_OLD ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The one place MASTER_KEY and MASTER_KEY_OLD are read: parsed once per environment, and shared by
 * the keystore, the contact seal and the key rotation. Throws when MASTER_KEY is missing or malformed.
 */
export function masterKeys(env: KeyEnv): MasterKeys {
  const hit = parsed.get(env);
  if (hit) return hit;
  if (!env.MASTER_KEY) throw new Error('MASTER_KEY is required to use the keystore');
  const problems = masterKeyProblems(env);
  if (problems.length) throw new Error(problems.join('; '));
  const keys = { current: Buffer.from(env.MASTER_KEY, 'base64'), old: oldKeyTexts(env).map((k) => Buffer.from(k, 'base64')) };
  parsed.set(env, keys);
  return keys;
}

/** PSEUDONYM_KEY as bytes. Throws when it is missing. */
export function pseudonymKey(env: Pick<EnvironmentVariables, 'PSEUDONYM_KEY'>): Buffer {
  if (!env.PSEUDONYM_KEY) throw new Error('PSEUDONYM_KEY is required');
  return Buffer.from(env.PSEUDONYM_KEY, 'base64');
}
