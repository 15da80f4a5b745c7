import type { Env } from '@hotline/config';
import { ConferenceCall, ConferenceState } from '@hotline/routing';
import type { NewParticipant } from '@hotline/twilio';
import { CONFERENCE_EVENTS, ConferenceTwiml } from './conference-twiml';

/** How long a Redis step of call handling may take before it is given up. */
export const REDIS_MS = 1000;
/** The longest reason a supervisor may give for listening in. */
export const REASON_MAX = 500;

/** Who the hotline's legs come from: the hotline's number when configured, else a client name (browser legs only). */
export function legCallerId(env: Env): string {
  return env.TWILIO_SMS_FROM ?? 'client:hotline';
}

/** The callbacks every leg the gateway dials asks for: its own progress, and the conference's events. */
export function legCallbacks(
  twiml: ConferenceTwiml,
  callId: string,
  role: 'op' | 'xfer' | 'ext' | 'sup',
  id: string,
): Pick<NewParticipant, 'statusCallback' | 'statusCallbackEvent' | 'conferenceStatusCallback' | 'conferenceStatusCallbackEvent'> {
  return {
    statusCallback: twiml.legUrl(callId, role, id),
    statusCallbackEvent: ['answered', 'completed'],
    conferenceStatusCallback: twiml.statusUrl(callId),
    conferenceStatusCallbackEvent: [...CONFERENCE_EVENTS],
  };
}

/** The operator's own call, in a conference in progress: or why not (the ack's error). */
export async function operatorsConference(
  state: ConferenceState,
  operatorId: string,
  callId: string,
): Promise<{ c: ConferenceCall & { conferenceSid: string; callerLeg: string } } | { error: string }> {
  const c = await state.get(callId);
  if (!c || c.ended || c.operatorId !== operatorId) return { error: 'not_your_call' };
  if (c.bridge !== 'conference' || !c.conferenceSid || !c.callerLeg) return { error: 'not_in_a_conference' };
  return { c: { ...c, conferenceSid: c.conferenceSid, callerLeg: c.callerLeg } };
}

/** Twilio's HTTP status of a failed request, for a log line (never its body). */
export function twilioStatus(e: unknown): string {
  return String((e as { status?: number }).status ?? 'none');
}
