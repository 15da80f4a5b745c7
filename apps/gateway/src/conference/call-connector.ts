import { Injectable, Logger } from '@nestjs/common';
import type { AckReply } from '@hotline/contract';
import { counter, withTimeout } from '@hotline/observability';
import { recordingOptedOut } from '@hotline/privacy';
import { RoutingStore } from '@hotline/routing';
import { Clock } from '@hotline/clock';
import { TwilioService, isTwilioCallEnded } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { RecordsDb } from '../records-db';
import { RoutingEngine } from '../routing/routing.engine';
import { ConferenceBridge } from './conference-bridge';

const LOOKUP_MS = 800;
const connects = counter('hotline_connects_total', 'Accepted offers by outcome', ['outcome']);

/** What happens when an operator answers an offer: Twilio connects the caller, or the call goes back. */
@Injectable()
export class CallConnector {
  private readonly logger = new Logger(CallConnector.name);

  constructor(
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
    private readonly engine: RoutingEngine,
    private readonly twilio: TwilioService,
    private readonly records: CallRecordsService,
    private readonly db: RecordsDb,
    private readonly clock: Clock,
    private readonly conference: ConferenceBridge,
  ) {}

  async accept(operatorId: string, callId: string): Promise<AckReply> {
    const won = await this.store.accept(callId, operatorId);
    if (!won.ok) return { ok: false, error: won.error };
    const { callSid, pseudonym } = won.call;
    const record = won.call.recordingConsent && (await this.mayRecord(pseudonym));
    // A conference named after the call (the operator's leg dialled into it), or the direct <Dial>.
    const bridge = await this.conference.prepare(callId, operatorId, record);
    try {
      await this.twilio.updateCall(callSid, bridge.twiml);
    } catch (e) {
      await this.conference.abandon(bridge);
      const gone = isTwilioCallEnded(e);
      const outcome = await this.store.connectFailed(callId, operatorId, gone);
      connects.inc({ outcome: gone ? 'call_gone' : 'twilio_error' });
      this.logger.warn(
        `connect of call ${callId} failed at Twilio (${gone ? 'call gone' : `status ${(e as { status?: number }).status ?? 'none'}`}); ${outcome}`,
      );
      this.live.revoked(operatorId, callId, 'connect_failed');
      await this.live.sendStatus(operatorId);
      if (outcome === 'closed')
        await this.records.event({
          kind: 'ended',
          callId,
          callSid,
          outcome: 'abandoned',
          at: this.clock.now().toISOString(),
          sequence: null,
        });
      this.engine.kick();
      return { ok: false, error: 'connect_failed' };
    }
    const at = this.clock.now();
    if (!(await this.store.connected(callId, operatorId, at.getTime()))) {
      // The caller hung up while Twilio was connecting; the status callback has told the operator.
      connects.inc({ outcome: 'caller_gone' });
      return { ok: false, error: 'caller_hung_up' };
    }
    connects.inc({ outcome: 'connected' });
    await this.conference.bridged(callId, operatorId, callSid, bridge);
    // The console is told `call:connected` when the operator's browser leg answers, once the record
    // knows who answered (CallAnswers): not before, or a note saved in between would find no call.
    return { ok: true };
  }

  async decline(operatorId: string, callId: string): Promise<boolean> {
    const ok = await this.store.decline(callId, operatorId);
    if (ok) {
      this.live.revoked(operatorId, callId, 'declined');
      await this.live.sendStatus(operatorId);
      this.engine.kick();
    }
    return ok;
  }

  /** A caller who withdrew consent on the privacy line is not recorded; if that cannot be checked, neither (fail closed). */
  private async mayRecord(pseudonym: string | null): Promise<boolean> {
    try {
      return !(await withTimeout(
        this.db.get().then((ds) => recordingOptedOut(ds, pseudonym)),
        LOOKUP_MS,
      ));
    } catch {
      return false;
    }
  }
}
