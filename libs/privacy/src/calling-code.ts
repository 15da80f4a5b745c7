/**
 * The country calling codes (ITU-T E.164) of two digits. With 1 (North America and the Caribbean,
 * NANP) and 7 (Russia, Kazakhstan), the only one-digit codes, these are the only codes shorter
 * than three digits; every other code is three digits. Calling codes are prefix-free, so the
 * first digits of a number say which code it has.
 */
const TWO_DIGIT_CODES = new Set([
  '20', '27',
  '30', '31', '32', '33', '34', '36', '39',
  '40', '41', '43', '44', '45', '46', '47', '48', '49',
  '51', '52', '53', '54', '55', '56', '57', '58',
  '60', '61', '62', '63', '64', '65', '66',
  '81', '82', '84', '86',
  '90', '91', '92', '93', '94', '95', '98',
]); // prettier-ignore

/**
 * The country calling code of an E.164 number (`+447700900123` gives `44`, `+15551234567` gives
 * `1`, `+35312345678` gives `353`), by the ITU's assignments: 1 and 7 are one digit, the codes in
 * TWO_DIGIT_CODES two, any other three. Null for what is not an E.164 number. Spare and
 * shared codes (e.g. `+88x`) come out as their first three digits, which is what a cap needs.
 */
export function callingCode(e164: string): string | null {
  if (!/^\+[1-9]\d{6,14}$/.test(e164)) return null;
  const digits = e164.slice(1);
  if (digits[0] === '1' || digits[0] === '7') return digits[0];
  if (TWO_DIGIT_CODES.has(digits.slice(0, 2))) return digits.slice(0, 2);
  return digits.slice(0, 3);
}
