import { Inject, Injectable, Optional } from '@nestjs/common';
import { ENV, Env } from '@hotline/config';
import { OutboundPacer, OutboundPriority } from './outbound-pacer';
import { Twilio, lazyRestClient, isTwilioNotFound } from './twilio-client';

/** A leg to dial into a conference (Twilio's Participants resource, create). */
export interface NewParticipant {
  /** `client:<identity>` for a browser leg, or an E.164 number. */
  to: string;
  from: string;
  /** Our name for the leg (`op:<id>`, `sup:<id>`, `ext:<entry>`); Twilio echoes it as ParticipantLabel. */
  label: string;
  /** The leg's own call progress callback (answered, completed, no-answer, busy...). */
  statusCallback: string;
  statusCallbackEvent: ('initiated' | 'ringing' | 'answered' | 'completed')[];
  /** Conference events, used when this participant creates the conference. */
  conferenceStatusCallback: string;
  conferenceStatusCallbackEvent: ('start' | 'end' | 'join' | 'leave' | 'mute' | 'hold' | 'modify')[];
  /** Record the conference (set by the participant that creates it), and where the recording is reported. */
  conferenceRecord?: boolean;
  conferenceRecordingStatusCallback?: string;
  timeoutSeconds?: number;
  muted?: boolean;
  coaching?: boolean;
  callSidToCoach?: string;
  startConferenceOnEnter?: boolean;
  endConferenceOnExit?: boolean;
  earlyMedia?: boolean;
  /** Whose turn at the account's calls per second (TWILIO_CPS): `live` (default), someone is on the line waiting for this leg. */
  priority?: OutboundPriority;
}

export interface ParticipantChange {
  hold?: boolean;
  holdUrl?: string;
  muted?: boolean;
  coaching?: boolean;
  callSidToCoach?: string;
}

/**
 * Twilio Conferences: the few REST calls a call that lives in a conference needs. Part of the
 * Twilio port (only libs/twilio talks to Twilio); the address is TWILIO_API_URL, as for TwilioService.
 * Each request is bounded (TWILIO_REST_TIMEOUT_MS, never retried), except a new leg: that waits its
 * turn at the account's calls per second (OutboundPacer), so it is never made inside a webhook.
 */
@Injectable()
export class TwilioConferences {
  constructor(
    @Inject(ENV) private readonly env: Env,
    @Optional() pacer?: OutboundPacer,
  ) {
    this.rest = lazyRestClient(env);
    this.pacer = pacer ?? new OutboundPacer(env);
  }

  private readonly rest: () => Twilio;
  private readonly pacer: OutboundPacer;

  /**
   * Dials a leg into the conference `name` (a conference SID, or a friendly name: Twilio creates the
   * conference if none of that name is in progress), when its turn at TWILIO_CPS comes (a live leg
   * waits up to 10 s, then OutboundSlotUnavailable is thrown; a 429 is waited out and tried once
   * more). Returns the new leg's CallSid.
   */
  async addParticipant(name: string, p: NewParticipant): Promise<{ callSid: string; conferenceSid: string }> {
    // The client and its resource made first (the library loads them on first use): once the turn
    // comes, the request goes at once.
    const participants = this.rest().conferences(name).participants;
    const r = await this.pacer.create(p.priority ?? 'live', () =>
      participants.create({
        to: p.to,
        from: p.from,
        label: p.label,
        statusCallback: p.statusCallback,
        statusCallbackMethod: 'POST',
        statusCallbackEvent: p.statusCallbackEvent,
        conferenceStatusCallback: p.conferenceStatusCallback,
        conferenceStatusCallbackMethod: 'POST',
        conferenceStatusCallbackEvent: p.conferenceStatusCallbackEvent,
        timeout: p.timeoutSeconds ?? 20,
        muted: p.muted ?? false,
        startConferenceOnEnter: p.startConferenceOnEnter ?? true,
        endConferenceOnExit: p.endConferenceOnExit ?? false,
        earlyMedia: p.earlyMedia ?? false,
        beep: 'false',
        ...(p.conferenceRecord
          ? {
              conferenceRecord: 'record-from-start',
              conferenceRecordingStatusCallback: p.conferenceRecordingStatusCallback,
              conferenceRecordingStatusCallbackMethod: 'POST',
            }
          : {}),
        ...(p.coaching ? { coaching: true, callSidToCoach: p.callSidToCoach } : {}),
      }),
    );
    return { callSid: r.callSid, conferenceSid: r.conferenceSid };
  }

  /** Hold (with hold music), mute, coach: one participant of a conference. */
  async updateParticipant(conferenceSid: string, callSid: string, change: ParticipantChange): Promise<void> {
    await this.rest()
      .conferences(conferenceSid)
      .participants(callSid)
      .update({
        ...(change.hold !== undefined ? { hold: change.hold } : {}),
        ...(change.holdUrl ? { holdUrl: change.holdUrl, holdMethod: 'POST' } : {}),
        ...(change.muted !== undefined ? { muted: change.muted } : {}),
        ...(change.coaching !== undefined ? { coaching: change.coaching } : {}),
        ...(change.callSidToCoach ? { callSidToCoach: change.callSidToCoach } : {}),
      });
  }

  /** Takes a leg out of the conference (it hangs up); one already gone counts as done. */
  async removeParticipant(conferenceSid: string, callSid: string): Promise<'removed' | 'already_gone'> {
    try {
      await this.rest().conferences(conferenceSid).participants(callSid).remove();
      return 'removed';
    } catch (e) {
      if (isTwilioNotFound(e)) return 'already_gone';
      throw e;
    }
  }

  /** Ends the conference (every leg in it hangs up); one already over counts as done. */
  async endConference(conferenceSid: string): Promise<void> {
    try {
      await this.rest().conferences(conferenceSid).update({ status: 'completed' });
    } catch (e) {
      if (!isTwilioNotFound(e)) throw e;
    }
  }
}
