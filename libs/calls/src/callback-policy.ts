import { getCountries, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { NumberType } from 'libphonenumber-js/max';
import { dialableNumber } from '@hotline/crypto/pseudonym';

/**
 * Which numbers a callback (or a follow-up) may dial (issue 24): a number we may dial at all (no
 * withheld or unavailable caller ID, `dialableNumber`), of a country in `CALLBACK_COUNTRIES` (default:
 * the hotline number's own), and of no premium-rate, shared-cost or other special range. Checked
 * where the gateway offers and books a callback and again where records schedules and dials one, so
 * that a spoofed caller ID cannot make the service ring a number that earns its owner money.
 *
 * The country and the kind of number come from libphonenumber-js (Google's libphonenumber metadata,
 * the `max` set, which knows number types), with REFUSED_RANGES as a floor that holds whatever the
 * metadata says. A number libphonenumber does not know as valid is refused, except the ranges set
 * aside for fiction (FICTIONAL_RANGES), which ring nobody and cost nothing: they count as numbers of
 * their calling code's main country, so the demo and the tests can call back their made-up callers.
 */

/** Why a number is not called back. Never logged or audited with the number: the reason alone. */
export type CallbackRefusal = 'withheld' | 'invalid' | 'premium' | 'country';

export type CallbackNumberCheck =
  { ok: true; number: string; country: string } | { ok: false; refusal: CallbackRefusal; country: string | null };

/**
 * Special ranges refused whatever libphonenumber's metadata says (E.164, by calling code and prefix).
 * Kept small and documented; the number types below catch the rest of each country's premium ranges.
 */
export const REFUSED_RANGES: readonly { range: RegExp; what: string }[] = [
  { range: /^\+1(900|976)\d{7}$/, what: 'NANP premium-rate area codes 900 and 976' },
  { range: /^\+1\d{3}976\d{4}$/, what: 'NANP 976 exchanges (premium rate)' },
  { range: /^\+449\d+$/, what: 'UK 09x premium rate' },
  { range: /^\+4487\d+$/, what: 'UK 087x service numbers (revenue sharing)' },
  { range: /^\+4484\d+$/, what: 'UK 084x service numbers (shared cost)' },
  { range: /^\+4470\d+$/, what: 'UK 070 personal numbering (often premium)' },
  { range: /^\+88[123]\d+$/, what: 'satellite and international networks (+881, +882, +883)' },
  { range: /^\+870\d+$/, what: 'Inmarsat (+870)' },
  { range: /^\+979\d+$/, what: 'international premium rate (+979)' },
  { range: /^\+808\d+$/, what: 'international shared cost (+808)' },
  { range: /^\+800\d+$/, what: 'international freephone (+800): not a number a caller calls from' },
];

/** Number types (libphonenumber) never called back: they cost the service, or reach no person. */
export const REFUSED_TYPES: readonly NumberType[] = ['PREMIUM_RATE', 'SHARED_COST', 'PERSONAL_NUMBER', 'VOICEMAIL', 'PAGER', 'UAN'];

/**
 * Ranges set aside for fiction, which no one can be called on: NANP area code 555 (never assigned)
 * and 555-0100 to 555-0199 in any area code (NANPA), Ofcom's drama numbers (07700 900xxx, 01632
 * 960xxx, 020 7946 0xxx). libphonenumber calls most of them invalid; here they are numbers of the
 * calling code's main country (US, GB) of an ordinary type.
 */
export const FICTIONAL_RANGES: readonly { range: RegExp; country: string }[] = [
  { range: /^\+1555\d{7}$/, country: 'US' },
  { range: /^\+1\d{3}55501\d{2}$/, country: 'US' },
  { range: /^\+447700900\d{3}$/, country: 'GB' },
  { range: /^\+441632960\d{3}$/, country: 'GB' },
  { range: /^\+442079460\d{3}$/, country: 'GB' },
];

/** UAN (UK 03, national rate) is an ordinary number to call back, whatever its type's name suggests. */
const ALLOWED_DESPITE_TYPE: readonly RegExp[] = [/^\+443\d+$/];

/** The ISO 3166 country of an E.164 number, or null (invalid, or of no country: satellite, international ranges). */
export function countryOfNumber(e164: string): string | null {
  const fictional = FICTIONAL_RANGES.find((f) => f.range.test(e164));
  if (fictional) return fictional.country;
  const parsed = parsePhoneNumberFromString(e164);
  return parsed?.isValid() ? (parsed.country ?? null) : null;
}

/** Whether `raw` (a Twilio `From`, or the number records opened) may be called back, and its country. */
export function checkCallbackNumber(raw: string | null | undefined, allowed: ReadonlySet<string>): CallbackNumberCheck {
  const number = dialableNumber(raw);
  if (!number) return { ok: false, refusal: 'withheld', country: null };
  if (REFUSED_RANGES.some((r) => r.range.test(number))) return { ok: false, refusal: 'premium', country: countryOfNumber(number) };
  const fictional = FICTIONAL_RANGES.find((f) => f.range.test(number));
  if (fictional)
    return allowed.has(fictional.country) ? { ok: true, number, country: fictional.country } : countryRefused(fictional.country);
  const parsed = parsePhoneNumberFromString(number);
  if (!parsed?.isValid()) return { ok: false, refusal: 'invalid', country: null };
  const type = parsed.getType();
  if (type && REFUSED_TYPES.includes(type) && !ALLOWED_DESPITE_TYPE.some((r) => r.test(number)))
    return { ok: false, refusal: 'premium', country: parsed.country ?? null };
  const country = parsed.country ?? null;
  if (!country || !allowed.has(country)) return countryRefused(country);
  return { ok: true, number, country };
}

function countryRefused(country: string | null): CallbackNumberCheck {
  return { ok: false, refusal: 'country', country };
}

/**
 * The countries callbacks may dial: `CALLBACK_COUNTRIES` (ISO codes, comma-separated), or else the
 * country of the hotline number (the number callbacks are placed from); none without either.
 */
export function callbackCountries(env: { CALLBACK_COUNTRIES?: string }, hotlineNumber: string | null): ReadonlySet<string> {
  if (env.CALLBACK_COUNTRIES?.trim()) return new Set(env.CALLBACK_COUNTRIES.split(',').map((c) => c.trim().toUpperCase()));
  const own = hotlineNumber ? (countryOfNumber(hotlineNumber) ?? mainCountryOf(hotlineNumber)) : null;
  return new Set(own ? [own] : []);
}

/** The countries of `CALLBACK_COUNTRIES` libphonenumber has no numbering plan for (nothing could ever be dialled there). */
export function unknownCallbackCountries(countries: ReadonlySet<string>): string[] {
  const known = new Set<string>(getCountries());
  return [...countries].filter((c) => !known.has(c));
}

/** The main country of a number's calling code (`+1...`: US, `+44...`: GB), for a hotline number of a range it does not know. */
function mainCountryOf(e164: string): string | null {
  const parsed = parsePhoneNumberFromString(e164);
  // The metadata lists a calling code's countries main one first (1: US, 44: GB, 7: RU).
  return parsed ? (parsed.country ?? parsed.getPossibleCountries()[0] ?? null) : null;
}

const REGION_NAMES = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

/** A country's English name for the operators' list (`GB`: United Kingdom); the code itself when unknown. */
export function countryName(code: string | null): string | null {
  if (!code) return null;
  return REGION_NAMES.of(code) ?? code;
}
