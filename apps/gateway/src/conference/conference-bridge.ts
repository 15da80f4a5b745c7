import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AckReply } from '@hotline/contract';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { counter, withTimeout } from '@hotline/observability';
import { ConferenceState, legLabel } from '@hotline/routing';
import { TwilioConferences } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { CallTwiml } from '../twiml/twiml';
import { voiceLeg } from '../twiml/voice-legs';
import { REDIS_MS, legCallbacks, legCallerId, operatorsConference, twilioStatus } from './conference-common';
import { ConferenceTwiml } from './conference-twiml';
import { TransferTargets } from './transfer-targets';

const bridges = counter('hotline_bridges_total', 'Accepted calls by how the caller was bridged', ['bridge']);

/** How the accepted caller is to be bridged: the TwiML for their call, and the operator's leg if it is a conference. */
export interface Bridge {
  bridge: 'conference' | 'direct';
  twiml: string;
  operatorLeg: string | null;
  conferenceSid: string | null;
}

/**
 * The bridge of an accepted call (issue 14): a Twilio conference named after the call id, the
 * operator's browser leg dialled into it and the caller joining; the caller on hold and back. If
 * Twilio cannot create the conference, the caller is connected the direct way (`<Dial><Client>`).
 * Conference state is in Redis (ConferenceState) so every gateway node agrees.
 */
@Injectable()
export class ConferenceBridge {
  private readonly logger = new Logger(ConferenceBridge.name);

  constructor(
    @Inject(ENV) private readonly env: Env,
    private readonly conferences: TwilioConferences,
    private readonly state: ConferenceState,
    private readonly live: LiveEvents,
    private readonly records: CallRecordsService,
    private readonly callTwiml: CallTwiml,
    private readonly twiml: ConferenceTwiml,
    private readonly clock: Clock,
    private readonly targets: TransferTargets,
  ) {}

  get enabled(): boolean {
    return this.env.CALL_BRIDGE === 'conference';
  }

  /**
   * Dials the operator's leg into the call's conference (which creates it), and gives the caller's
   * TwiML to join it. When Twilio refuses (the conference cannot be created), the direct `<Dial>`.
   */
  async prepare(callId: string, operatorId: string, record: boolean): Promise<Bridge> {
    // The operator's console is told which leg to take before Twilio rings it (libs/contract voice-legs).
    const browser = voiceLeg(operatorId, callId, 'offer');
    this.live.toOperator(operatorId, 'voice:leg', browser.announcement);
    const direct = (): Bridge => ({
      bridge: 'direct',
      twiml: this.callTwiml.connect(callId, operatorId, record, browser),
      operatorLeg: null,
      conferenceSid: null,
    });
    if (!this.enabled) return direct();
    try {
      const leg = await this.conferences.addParticipant(callId, {
        to: browser.address,
        from: legCallerId(this.env),
        label: legLabel({ kind: 'op', id: operatorId }),
        ...legCallbacks(this.twiml, callId, 'op', operatorId),
        conferenceRecord: record,
        conferenceRecordingStatusCallback: record ? this.twiml.recordingUrl(callId) : undefined,
        timeoutSeconds: 20,
        startConferenceOnEnter: true,
        endConferenceOnExit: false,
      });
      // Every leg is kept with the call, for its deletion at Twilio (a participant has no parent call there).
      this.records.leg(callId, leg.callSid, 'op');
      return { bridge: 'conference', twiml: this.twiml.join(callId, record), operatorLeg: leg.callSid, conferenceSid: leg.conferenceSid };
    } catch (e) {
      bridges.inc({ bridge: 'direct_fallback' });
      this.logger.warn(`conference for call ${callId} could not be created (Twilio status ${twilioStatus(e)}); connecting directly`);
      return direct();
    }
  }

  /** The caller could not be moved (hung up, Twilio error): the operator's leg goes too. */
  async abandon(b: Bridge): Promise<void> {
    if (b.bridge !== 'conference' || !b.conferenceSid) return;
    await this.conferences.endConference(b.conferenceSid).catch(() => undefined);
  }

  /** The caller is bridged: state for the conference, and the record says how. */
  async bridged(callId: string, operatorId: string, callerSid: string, b: Bridge): Promise<void> {
    bridges.inc({ bridge: b.bridge });
    const before = await this.state.get(callId).catch(() => null);
    try {
      await withTimeout(this.state.begin(callId, b.bridge, operatorId, callerSid, b.operatorLeg, b.conferenceSid), REDIS_MS);
    } catch (e) {
      this.logger.warn(`conference state for call ${callId} not kept (Redis: ${(e as Error).message.slice(0, 80)})`);
    }
    await this.records.event({ kind: 'bridged', callId, bridge: b.bridge, conferenceSid: b.conferenceSid });
    // A cold transfer lands when the next operator's leg is bridged.
    const t = before?.transfer;
    if (t && t.mode === 'cold' && t.id) {
      await this.state.setTransfer(callId, null);
      await this.records.event({ kind: 'transfer_outcome', id: t.id, callId, outcome: 'completed', at: this.clock.now().toISOString() });
    }
    this.live.statsChanged();
  }

  /** A reconnecting console gets back what it must show about its call: on hold since, a supervisor on it, the targets. */
  async resume(operatorId: string, callId: string): Promise<void> {
    const c = await this.state.get(callId).catch(() => null);
    if (!c || c.ended || c.operatorId !== operatorId || c.bridge !== 'conference') return;
    if (c.holdSince !== null)
      this.live.toOperator(operatorId, 'call:hold_state', { callId, onHold: true, since: new Date(c.holdSince).toISOString() });
    if (c.supervisor?.joined) this.live.toOperator(operatorId, 'supervision', { callId, mode: c.supervisor.mode });
    await this.targets.send(operatorId);
  }

  /** The operator puts the caller on hold (hold music) or takes them off it. */
  async hold(operatorId: string, callId: string, hold: boolean): Promise<AckReply<{ onHold: boolean }>> {
    const m = await operatorsConference(this.state, operatorId, callId);
    if ('error' in m) return { ok: false, error: m.error };
    await this.conferences.updateParticipant(
      m.c.conferenceSid,
      m.c.callerLeg,
      hold ? { hold: true, holdUrl: this.twiml.holdUrl } : { hold: false },
    );
    return { ok: true, onHold: hold };
  }
}
