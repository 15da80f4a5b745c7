/**
 * What the logger removes by configuration, so that no phone number, name, note text, code,
 * token or secret reaches a log line whatever a developer passes to it.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-twilio-signature"]',
  'req.headers["x-access-reason"]',
  'res.headers["set-cookie"]',
  'req.body',
  'body',
  '*.body',
  'text',
  '*.text',
  'note',
  '*.note',
  'password',
  '*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'code',
  '*.code',
  'Digits',
  '*.Digits',
  'From',
  '*.From',
  'To',
  '*.To',
  'Caller',
  '*.Caller',
  'Called',
  '*.Called',
  'phone',
  '*.phone',
  'number',
  '*.number',
  'displayName',
  '*.displayName',
  'name',
  '*.name',
  'reason',
  '*.reason',
  'disclosedTo',
  '*.disclosedTo',
];

/** E.164-like numbers and runs of 6+ digits that could be a number or a code. */
// Bounded by non-word characters, so digits inside ids (UUIDs, SIDs, hashes) are left alone.
const PHONE_LIKE = /(?<![\w-])\+?\d[\d\s().-]{5,}\d(?![\w-])/g;

export function scrubString(s: string): string {
  return s.replace(PHONE_LIKE, (m) => (m.replace(/\D/g, '').length >= 6 ? '[redacted-number]' : m));
}

/** Scrubs strings in a log object (depth-limited). Keys like `callId` carry UUIDs, which are left intact. */
export function scrubObject(value: unknown, depth = 0): unknown {
  if (depth > 6) return value;
  if (typeof value === 'string') return isUuidLike(value) ? value : scrubString(value);
  if (Array.isArray(value)) return value.map((v) => scrubObject(v, depth + 1));
  if (value && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'time' || k === 'pid' ? v : scrubObject(v, depth + 1);
    return out;
  }
  return value;
}

function isUuidLike(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

/** Strips query strings from logged URLs (Twilio may put numbers there). */
export function pathOnly(url: string | undefined): string | undefined {
  return url?.split('?')[0];
}
