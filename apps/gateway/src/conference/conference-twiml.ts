import { Wording } from '@hotline/config';
import { VoiceResponse } from '@hotline/twilio';
import { CallTwiml } from '../twiml/twiml';

/** Conference and participant status callbacks (`?c=<callId>`). */
export const CONFERENCE_STATUS_PATH = '/twilio/conference/status';
/** A REST-added leg's own call progress (`?c=<callId>&r=<role>&i=<id>`): answered, or not. */
export const CONFERENCE_LEG_PATH = '/twilio/conference/leg';
/** The conference's recording (`?c=<callId>`): Twilio names the conference, not a call. */
export const CONFERENCE_RECORDING_PATH = '/twilio/conference/recording';
/** What a caller on hold hears (HoldUrl) and what a lone caller hears while the conference waits (waitUrl). */
export const HOLD_MUSIC_PATH = '/twilio/conference/hold-music';

/** The events the gateway asks Twilio to report for each conference. */
export const CONFERENCE_EVENTS = ['start', 'end', 'join', 'leave', 'mute', 'hold', 'modify'] as const;

/**
 * The caller's TwiML once an operator accepts: into the conference named after the call id (never
 * a number). The caller's leaving ends the conference, so no operator is left talking to nobody.
 * Recording is Twilio's conference recording, only when the caller consented and has not withdrawn.
 */
export class ConferenceTwiml {
  constructor(
    private readonly calls: CallTwiml,
    private readonly w: Wording,
  ) {}

  statusUrl(callId: string): string {
    return this.calls.url(CONFERENCE_STATUS_PATH, { c: callId });
  }

  legUrl(callId: string, role: 'op' | 'xfer' | 'ext' | 'sup', id: string): string {
    return this.calls.url(CONFERENCE_LEG_PATH, { c: callId, r: role, i: id });
  }

  get holdUrl(): string {
    return this.calls.url(HOLD_MUSIC_PATH);
  }

  recordingUrl(callId: string): string {
    return this.calls.url(CONFERENCE_RECORDING_PATH, { c: callId });
  }

  join(callId: string, record: boolean): string {
    const r = new VoiceResponse();
    const dial = r.dial();
    dial.conference(
      {
        participantLabel: 'caller',
        startConferenceOnEnter: true,
        endConferenceOnExit: true,
        beep: 'false',
        waitUrl: this.holdUrl,
        waitMethod: 'POST',
        statusCallback: this.statusUrl(callId),
        statusCallbackMethod: 'POST',
        statusCallbackEvent: [...CONFERENCE_EVENTS],
        ...(record
          ? {
              record: 'record-from-start',
              recordingStatusCallback: this.recordingUrl(callId),
              recordingStatusCallbackMethod: 'POST' as const,
            }
          : {}),
      },
      callId,
    );
    return r.toString();
  }

  /**
   * Hold music: the words of the wait, a pause, and again: the loop is the TwiML's own `<Redirect>`
   * back here (Twilio plays a hold or wait URL's document once; only Say, Play, Pause and Redirect
   * are allowed in it).
   */
  holdMusic(): string {
    const r = new VoiceResponse();
    r.say({ voice: this.w.voice as any, language: this.w.language as any }, this.w.wait);
    r.pause({ length: 8 });
    r.redirect({ method: 'POST' }, this.holdUrl);
    return r.toString();
  }
}
