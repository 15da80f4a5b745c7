import { createHmac } from 'crypto';

/** Numbers Twilio sends for a caller who withheld theirs. */
const WITHHELD = new Set([
  '',
  'anonymous',
  'restricted',
  'unknown',
  'private',
  'unavailable',
  '+266696687',
  '+7378742833',
  '+2562533',
  '+86282452253',
  '+8656696',
]);

/** Normalises a Twilio `From` to E.164, or null when the number is withheld or not a number. */
export function normaliseE164(raw: string | undefined | null): string | null {
  if (raw == null) return null;
  const s = String(raw).trim();
  if (WITHHELD.has(s.toLowerCase())) return null;
  const digits = s.replace(/[\s().-]/g, '');
  if (!/^\+[1-9]\d{6,14}$/.test(digits)) return null;
  return digits;
}

/**
 * A number we may dial or show: the caller's E.164 number, or null when Twilio's `From` is the
 * stand-in for a withheld or unavailable caller ID (above) or no number at all. The one test for
 * every number Hotline books, dials or discloses (overflow callbacks, follow-ups, active rescue): a
 * null is never booked, dialled or shown as a number.
 */
export function dialableNumber(raw: string | undefined | null): string | null {
  return normaliseE164(raw);
}

/**
 * The caller's keyed pseudonym: HMAC-SHA256 of the E.164 number. The number itself is never stored;
 * without PSEUDONYM_KEY a pseudonym cannot be tested against a guessed number.
 */
export function callerPseudonym(pseudonymKey: Buffer, e164: string): string {
  return createHmac('sha256', pseudonymKey).update(`caller:${e164}`).digest('hex');
}

/** Short form shown to operators (enough to recognise a returning caller, nothing more). */
export function shortPseudonym(pseudonym: string | null): string {
  return pseudonym ? `C-${pseudonym.slice(0, 6).toUpperCase()}` : 'C-WITHHELD';
}
