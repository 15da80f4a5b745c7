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

/** Longest string the scrubber reads whole; the rest is cut (a log line needs no 16 KB path). */
export const MAX_SCRUBBED_LENGTH = 2048;

/**
 * E.164-like numbers and runs of 6+ digits that could be a number or a code, in linear time.
 *
 * What counts: `+`? then a digit, then digits, spaces and `( ) . -`, ending in a digit, at least 6
 * characters (a bare six-digit code counts; the pattern below wanted 7 and let `code 482913` through),
 * holding 6 or more digits; not preceded or followed by a letter, digit, `_` or `-`, so digits inside
 * ids (UUIDs, SIDs, hashes) are left alone. Nor after `word:` (an id such as BullMQ's
 * `repeat:retention-scan:1764000000000`), except after the number schemes `tel:`, `sms:`, `sip:`, `fax:`.
 *
 * The pattern this replaces (`/(?<![\w-])\+?\d[\d\s().-]{5,}\d(?![\w-])/g`) backtracked
 * quadratically: one request with a 16 KB path of `.1-` blocked the event loop for a third of a second.
 * Here each candidate run is found by a single character class and read once from each end.
 */
const CANDIDATE_RUN = /\+?[\d\s().-]+/g;
/** One character of a candidate run (what `cut` steps back over). */
const RUN_CHAR = /[+\d\s().-]/;
/** RUN_CHAR.test of the character with code `c`: ASCII by its code (`cut` steps back over up to 2 KB), the rest by the class. */
function isRunChar(c: number): boolean {
  if (c > 127) return RUN_CHAR.test(String.fromCharCode(c));
  return (c >= 48 && c <= 57) || (c >= 9 && c <= 13) || c === 32 || c === 43 || c === 40 || c === 41 || c === 46 || c === 45;
}
const WORD_OR_DASH = /[\w-]/;
const ID_PREFIX = /([A-Za-z][\w.-]*):$/;
const NUMBER_SCHEMES = new Set(['tel', 'sms', 'sip', 'fax', 'callto']);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

export function scrubString(input: string): string {
  const s = input.length > MAX_SCRUBBED_LENGTH ? cut(input) : input;
  return s.replace(CANDIDATE_RUN, (run: string, offset: number) => scrubRun(s, run, offset));
}

/** The first MAX_SCRUBBED_LENGTH characters, less any digits the cut split (no partial number stays). */
function cut(input: string): string {
  let end = MAX_SCRUBBED_LENGTH;
  while (end > 0 && isRunChar(input.charCodeAt(end - 1))) end--;
  return `${input.slice(0, end)}…[cut ${input.length - end} chars]`;
}

function scrubRun(s: string, run: string, offset: number): string {
  const end = offset + run.length; // exclusive, in s
  // The last digit of the run that is not followed by a letter, digit, `_` or `-`: every match ends there.
  let last = -1;
  for (let j = end - 1; j >= offset; j--) {
    if (isDigit(s[j]) && !WORD_OR_DASH.test(s[j + 1] ?? '')) {
      last = j;
      break;
    }
  }
  if (last < 0) return run;
  for (let i = offset; i <= last; i++) {
    const plus = s[i] === '+';
    if (!(plus ? isDigit(s[i + 1]) : isDigit(s[i]))) continue;
    if (!startsFree(s, i)) continue;
    if (last - i + 1 < (plus ? 7 : 6)) return run; // later starts are shorter still
    let digits = 0;
    for (let k = i; k <= last; k++) if (isDigit(s[k])) digits++;
    if (digits < 6) return run;
    return run.slice(0, i - offset) + '[redacted-number]' + run.slice(last + 1 - offset);
  }
  return run;
}

function startsFree(s: string, i: number): boolean {
  const before = s[i - 1];
  if (before === undefined) return true;
  if (WORD_OR_DASH.test(before)) return false;
  if (before !== ':') return true;
  const prefix = ID_PREFIX.exec(s.slice(Math.max(0, i - 64), i));
  return !prefix || NUMBER_SCHEMES.has(prefix[1].toLowerCase());
}

/**
 * Scrubs strings in a log object (depth-limited). Keys like `callId` carry UUIDs, which are left intact.
 *
 * Plain objects and arrays are copied with their strings scrubbed. An Error becomes a plain object of
 * its name, message, stack and own fields, scrubbed (its message and stack are not enumerable, so a
 * plain copy would lose them; its `code` is kept as `errorCode` when it is a symbol such as
 * `ECONNREFUSED`, since `code` itself is redacted). Other class instances (the raw request and
 * response pino-http passes, sockets, Buffers, Dates) are left to their serializers untouched: copying
 * a response walked its socket and server on every access log line.
 */
export function scrubObject(value: unknown, depth = 0): unknown {
  if (depth > 6) return value;
  if (typeof value === 'string') return isUuidLike(value) ? value : scrubString(value);
  if (Array.isArray(value)) return value.map((v) => scrubObject(v, depth + 1));
  if (value instanceof Error) return scrubError(value, depth);
  if (value && typeof value === 'object' && isPlain(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'time' || k === 'pid' ? v : scrubObject(v, depth + 1);
    return out;
  }
  return value;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const ERROR_SYMBOL = /^[A-Z][A-Z0-9_]{2,63}$/;

function scrubError(e: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { type: e.name, message: scrubString(String(e.message)) };
  if (typeof e.stack === 'string') out.stack = scrubString(e.stack);
  for (const [k, v] of Object.entries(e)) {
    if (k === 'code') {
      if (typeof v === 'string' && ERROR_SYMBOL.test(v)) out.errorCode = v;
    } else if (k !== 'message' && k !== 'stack') out[k] = scrubObject(v, depth + 1);
  }
  if (e.cause !== undefined && depth < 6) out.cause = scrubObject(e.cause, depth + 1);
  return out;
}

function isUuidLike(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

/**
 * A request URL as an access log line carries it: path only (Twilio may put numbers in a query
 * string), scrubbed and cut like any string. The request is a child logger's binding in pino-http,
 * which the `log` formatter never sees, so the serializer scrubs it itself (a number in a path was
 * logged whole before).
 */
export function loggedPath(url: string | undefined): string | undefined {
  return url === undefined ? undefined : scrubString(url.split('?')[0]);
}
