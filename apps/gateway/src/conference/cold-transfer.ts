import { Injectable, Logger } from '@nestjs/common';
import type { AckReply } from '@hotline/contract';
import { Clock } from '@hotline/clock';
import { ConferenceCall, ConferenceState, RoutingStore } from '@hotline/routing';
import { TwilioConferences, TwilioService, isTwilioCallEnded } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { RoutingEngine } from '../routing/routing.engine';
import { CallTwiml } from '../twiml/twiml';

/**
 * Cold transfer: the operator goes to wrap-up; the caller goes back into Twilio's queue at the front,
 * offered at once to the named operator when they are free. The handover note is a note on the call
 * (records seals it under the call's data key), written by the console before this. The transfer
 * lands when the next operator's leg is bridged (ConferenceBridge.bridged).
 */
@Injectable()
export class ColdTransfer {
  private readonly logger = new Logger(ColdTransfer.name);

  constructor(
    private readonly twilio: TwilioService,
    private readonly conferences: TwilioConferences,
    private readonly state: ConferenceState,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
    private readonly engine: RoutingEngine,
    private readonly records: CallRecordsService,
    private readonly callTwiml: CallTwiml,
    private readonly clock: Clock,
  ) {}

  async transfer(
    c: ConferenceCall & { conferenceSid: string; callerLeg: string },
    operatorId: string,
    target: string | null,
    id: string,
    at: Date,
  ): Promise<AckReply> {
    const call = await this.store.call(c.callId);
    if (!call) return { ok: false, error: 'not_your_call' };
    const r = await this.store.transferCold(c.callId, operatorId, target);
    if (r.outcome === 'not_your_call') return { ok: false, error: 'not_your_call' };
    await this.state.setTransfer(c.callId, {
      id,
      mode: 'cold',
      by: operatorId,
      to: target ?? '',
      leg: null,
      at: at.getTime(),
      joined: false,
    });
    await this.state.set(c.callId, { op: '' });
    await this.records.event({
      kind: 'transfer',
      id,
      callId: c.callId,
      mode: 'cold',
      fromStaffId: operatorId,
      toStaffId: target,
      directoryId: null,
      directoryKind: null,
      at: at.toISOString(),
    });
    try {
      await this.twilio.updateCall(c.callerLeg, this.callTwiml.requeue(c.callId, call.recordingConsent, r.enqueuedAt));
    } catch (e) {
      this.logger.warn(
        `call ${c.callId}: cold transfer could not move the caller (${isTwilioCallEnded(e) ? 'call gone' : 'Twilio error'})`,
      );
    }
    await this.conferences.endConference(c.conferenceSid).catch(() => undefined);
    if (r.outcome === 'offered' && target && r.offerExpiresAt)
      this.live.offered(
        { callId: c.callId, operatorId: target, offerExpiresAt: r.offerExpiresAt, enqueuedAt: r.enqueuedAt },
        this.clock.nowMs(),
      );
    this.live.toOperator(operatorId, 'transfer:status', { callId: c.callId, state: 'completed', mode: 'cold' });
    this.live.toOperator(operatorId, 'call:ended', { callId: c.callId });
    await this.live.sendStatus(operatorId);
    this.engine.kick();
    this.live.statsChanged();
    return { ok: true };
  }
}
