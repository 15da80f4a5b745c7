import { createHash, randomBytes, timingSafeEqual } from 'crypto';
import { Secret, TOTP } from 'otpauth';
import { ROLES, Role } from '@hotline/contract';

/** RFC 6238 as the contract fixes it: SHA-1, 6 digits, 30 s. */
export const TOTP_PARAMS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
export const TOTP_ISSUER = 'Hotline';
/** Codes one step either side are accepted (a phone's clock a little off). */
export const TOTP_WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;

/** The roles SECOND_FACTOR_ROLES names (empty: none). */
export function secondFactorRoles(setting: string): Set<Role> {
  return new Set(
    setting
      .split(',')
      .map((r) => r.trim())
      .filter((r): r is Role => (ROLES as readonly string[]).includes(r)),
  );
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** A TOTP secret (base32) made of these bytes (20: RFC 4226's recommended length). */
export function totpSecretFrom(bytes: Uint8Array): string {
  return new Secret({ buffer: Uint8Array.from(bytes).buffer }).base32;
}

export function totpFor(secretBase32: string, username: string): TOTP {
  return new TOTP({ issuer: TOTP_ISSUER, label: username, secret: Secret.fromBase32(secretBase32), ...TOTP_PARAMS });
}

/**
 * The time step a code belongs to, or null when it matches none within the window. The caller
 * refuses a step at or before the last one accepted (a code is good once: RFC 6238 section 5.2).
 */
export function totpStep(secretBase32: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const totp = totpFor(secretBase32, 'x');
  const delta = totp.validate({ token: code, timestamp: nowMs, window: TOTP_WINDOW });
  if (delta === null) return null;
  return Math.floor(nowMs / 1000 / TOTP_PARAMS.period) + delta;
}

/** Ten recovery codes, `xxxxx-xxxxx` in a 31-character alphabet (about 49 bits each), shown once. */
export function newRecoveryCodes(): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10);
    const chars = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** Recovery codes are random (about 49 bits): a plain SHA-256 is enough to keep them unusable if read. */
export function recoveryCodeHash(code: string): string {
  return createHash('sha256').update(normaliseRecoveryCode(code)).digest('hex');
}

export function normaliseRecoveryCode(code: string): string {
  return code.trim().toLowerCase().replace(/[\s-]/g, '');
}

export function looksLikeRecoveryCode(code: string): boolean {
  return /^[a-z0-9]{10}$/.test(normaliseRecoveryCode(code)) && !/^\d+$/.test(normaliseRecoveryCode(code));
}

export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
