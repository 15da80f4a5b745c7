/**
 * How the gateway reads what Twilio sends: one definition for every `/twilio/*` route. Twilio posts
 * form fields (the body) and calls back the URLs we gave it (the query: our own `c` call id, `o`, `a`...).
 * What Twilio posts to each route is typed in twilio-fields.ts, generated from the documented webhooks
 * (test/fixtures/twilio-webhooks.json): a handler cannot read a field Twilio does not send there (tsc
 * refuses it), and test/security/twilio-webhook-reads checks the same by reading the code.
 */
import { isId } from '@hotline/contract';

/** A request's fields, as Express parses them (a repeated field is an array): the query of our own URLs. */
export type TwilioParams = Record<string, string | string[] | undefined>;

/** A field as text: the first value of a repeated one, '' when absent. */
export function str(v: string | string[] | undefined): string {
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '';
}

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const CONFERENCE_SID = /^CF[0-9a-fA-F]{32}$/;
const RECORDING_SID = /^RE[0-9a-fA-F]{32}$/;

/** One of our ids in a URL we gave Twilio (a call, a staff member, an attempt). */
export { isId };
/** A Twilio Call SID (`CA` and 32 hex digits). */
export const isCallSid = (s: unknown): s is string => typeof s === 'string' && CALL_SID.test(s);
/** A Twilio Conference SID (`CF`...). */
export const isConferenceSid = (s: unknown): s is string => typeof s === 'string' && CONFERENCE_SID.test(s);
/** A Twilio Recording SID (`RE`...). */
export const isRecordingSid = (s: unknown): s is string => typeof s === 'string' && RECORDING_SID.test(s);
/** A SequenceNumber as Twilio sends it (a conference callback's order), or null. */
export function sequenceNumber(v: string): number | null {
  return /^\d{1,9}$/.test(v) ? Number(v) : null;
}
