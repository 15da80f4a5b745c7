import { Injectable, Logger } from '@nestjs/common';
import type { AckReply, CallerHint } from '@hotline/contract';
import { shortPseudonym } from '@hotline/crypto/pseudonym';
import { CallerRecords } from '@hotline/calls/records';
import { counter, withTimeout } from '@hotline/observability';
import { recordingOptedOut } from '@hotline/privacy';
import { RoutingStore } from '@hotline/routing';
import { Clock } from '@hotline/clock';
import { TwilioService, isTwilioNotFound } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { RecordsDb } from '../records-db';
import { RoutingEngine } from './routing.engine';
import { ConferenceCalls } from '../conference/conference-calls.service';

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
    private readonly conference: ConferenceCalls,
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
      const gone = isTwilioNotFound(e);
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
    // The record learns who answered when the operator's leg does (CallFlowService.answered).
    const caller = await this.callerHint(pseudonym, callId);
    this.live.toOperator(operatorId, 'status', { status: 'on_call' });
    this.live.toOperator(operatorId, 'call:connected', caller ? { callId, caller } : { callId });
    if (bridge.bridge === 'conference') await this.conference.sendTargets(operatorId);
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

  /**
   * The returning-caller hint: how many earlier calls this pseudonym made and the last risk level,
   * nothing more. Omitted for a withheld number, or when the records database does not answer.
   */
  async callerHint(pseudonym: string | null, callId: string): Promise<CallerHint | undefined> {
    if (!pseudonym) return undefined;
    try {
      return await withTimeout(
        (async () => {
          const history = await new CallerRecords(await this.db.get()).history(pseudonym, callId);
          return { pseudonym: shortPseudonym(pseudonym), ...history };
        })(),
        LOOKUP_MS,
      );
    } catch {
      return undefined;
    }
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
