import { Injectable, Logger } from '@nestjs/common';
import { withTimeout } from '@hotline/observability';
import { ConferenceState, RoutingStore } from '@hotline/routing';
import { TwilioService, isTwilioCallEnded } from '@hotline/twilio';
import { LiveEvents } from '../live/live-events';
import { CallAnswers } from '../routing/call-answers';
import { RoutingEngine } from '../routing/routing.engine';
import { CallTwiml } from '../twiml/twiml';
import { REDIS_MS } from './conference-common';
import { TransferTargets } from './transfer-targets';

/** The operator's browser leg into the conference: answered (the call is theirs), or never picked up. */
@Injectable()
export class OperatorLeg {
  private readonly logger = new Logger(OperatorLeg.name);

  constructor(
    private readonly answers: CallAnswers,
    private readonly store: RoutingStore,
    private readonly state: ConferenceState,
    private readonly live: LiveEvents,
    private readonly engine: RoutingEngine,
    private readonly twilio: TwilioService,
    private readonly callTwiml: CallTwiml,
    private readonly targets: TransferTargets,
  ) {}

  /**
   * On record as answered by the operator, if routing agrees the call is theirs (the leg can answer
   * before the caller turns out to be gone, and then nobody answered); then the console is told it
   * is connected (CallAnswers) and given the transfer targets.
   */
  async answered(callId: string, operatorId: string, legSid: string | null): Promise<void> {
    if (await this.answers.answered(callId, operatorId, legSid)) await this.targets.send(operatorId);
  }

  /** The operator's browser never picked up: the caller back to the front of the queue, the operator away. */
  async missed(callId: string, operatorId: string, status: string): Promise<void> {
    let call: Awaited<ReturnType<RoutingStore['call']>>;
    try {
      if ((await withTimeout(this.store.requeueMissed(callId, operatorId), REDIS_MS)) !== 'requeued') return;
      this.logger.warn(`call ${callId}: operator ${operatorId} did not pick up (${status.slice(0, 16)}); back in the queue`);
      this.live.revoked(operatorId, callId, 'connect_failed');
      await this.live.sendStatus(operatorId);
      this.engine.kick();
      call = await withTimeout(this.store.call(callId), REDIS_MS);
    } catch (e) {
      this.logger.warn(`call ${callId}: a missed operator leg not applied (Redis: ${(e as Error).message.slice(0, 80)})`);
      return;
    }
    if (!call?.callSid) return;
    await this.twilio
      .updateCall(call.callSid, this.callTwiml.requeue(callId, call.recordingConsent, call.enqueuedAt))
      .catch((e) =>
        this.logger.warn(`call ${callId} not put back in Twilio's queue (${isTwilioCallEnded(e) ? 'call gone' : 'Twilio error'})`),
      );
    await this.state.ended(callId).catch(() => undefined);
  }
}
