import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { AttemptOutcome, CallbackBook } from '@hotline/calls/records';
import { Clock } from '@hotline/clock';
import { TwilioCallJobs } from '@hotline/jobs';
import { withTimeout } from '@hotline/observability';
import { DEFAULT_ROUTING_PREFIX } from '@hotline/routing';
import { LiveEvents } from '../live/live-events';
import { GatewayRecords } from '../calls/gateway-records';
import { ROUTING_REDIS } from '../state/routing-state';
import { voiceLeg } from '../twiml/voice-legs';
import { TwilioParams, isCallSid, isId, str } from '../webhooks/twilio-params';
import { withCallbackBook } from './callback-book';
import { OverflowTwiml } from './overflow.twiml';
import { VoiceCallbackAnsweredFields, VoiceCallbackStatusFields } from '../webhooks/twilio-fields';

const REDIS_MS = 1000;
/** How long a machine answering a callback is remembered for its status callback (Redis, by attempt id). */
const MACHINE_MARK_SECONDS = 3600;

/**
 * The outbound call of a callback an operator placed (`/twilio/voice/callback/*`): answered by the
 * caller (the operator's browser leg is rung), by a machine (nobody is rung), and how it ended (the
 * attempt's outcome on record, the call deleted at Twilio).
 */
@Injectable()
export class CallbackCalls {
  private readonly logger = new Logger(CallbackCalls.name);

  constructor(
    @Inject(ROUTING_REDIS) private readonly redis: Redis,
    private readonly twiml: OverflowTwiml,
    private readonly repos: GatewayRecords,
    private readonly clock: Clock,
    private readonly live: LiveEvents,
    private readonly callDeletions: TwilioCallJobs,
  ) {}

  private book<T>(work: (b: CallbackBook) => Promise<T>): Promise<T> {
    return withCallbackBook(this.repos, work);
  }

  private machineKey(attemptId: string): string {
    return `${DEFAULT_ROUTING_PREFIX}cbm:${attemptId}`;
  }

  /**
   * Our outbound callback was answered: put the operator who placed it on the line. Their console is
   * told first which leg to take (the call's id, purpose `callback`), then Twilio rings it. Callbacks
   * are placed with answering machine detection: when Twilio says a machine (or fax) answered
   * (`AnsweredBy`), nobody is rung, the attempt is `machine` (not reached: due again, or closed after
   * maxAttempts), and the machine hears nothing, or the configured words (callbacks.onMachine).
   */
  async answered(query: TwilioParams, params: VoiceCallbackAnsweredFields): Promise<string> {
    const operatorId = str(query.o);
    const callId = str(query.c);
    if (!isId(operatorId) || !isId(callId)) return this.twiml.unavailable();
    const answeredBy = str(params.AnsweredBy);
    if (answeredBy === 'fax' || answeredBy.startsWith('machine')) {
      await this.machineAnswered(str(query.a));
      return this.twiml.callbackOnMachine();
    }
    const leg = voiceLeg(operatorId, callId, 'callback');
    this.live.toOperator(operatorId, 'voice:leg', leg.announcement);
    return this.twiml.callbackToOperator(leg);
  }

  /** A machine took the attempt: on record now, and remembered for its status callback should the record fail. */
  private async machineAnswered(attemptId: string): Promise<void> {
    if (!isId(attemptId)) return;
    await withTimeout(this.redis.set(this.machineKey(attemptId), '1', 'EX', MACHINE_MARK_SECONDS), REDIS_MS).catch(() => undefined);
    try {
      const r = await this.book((b) => b.attemptEnded(attemptId, 'machine', this.clock.now()));
      if (r) this.logger.log(`callback ${r.callbackId}: attempt ${r.attempts} machine; now ${r.status}`);
    } catch (e) {
      this.logger.warn(`callback attempt ${attemptId}: machine not on record yet (${(e as Error).message.slice(0, 80)})`);
    }
  }

  /**
   * How an outbound callback ended: the attempt's outcome; the callback is done, due again, or closed.
   * A call a machine answered ends `completed` too: what the answered URL learnt (AnsweredBy) decides.
   */
  async status(query: TwilioParams, params: VoiceCallbackStatusFields): Promise<void> {
    const attemptId = str(query.a);
    const status = str(params.CallStatus);
    const outcomes: Record<string, AttemptOutcome> = {
      completed: 'reached',
      'no-answer': 'no-answer',
      busy: 'busy',
      failed: 'failed',
      canceled: 'canceled',
    };
    let outcome = outcomes[status];
    if (!isId(attemptId) || !outcome) return;
    if (outcome === 'reached' && (await withTimeout(this.redis.get(this.machineKey(attemptId)), REDIS_MS).catch(() => null)))
      outcome = 'machine';
    const r = await this.book((b) => b.attemptEnded(attemptId, outcome, this.clock.now()));
    if (r) this.logger.log(`callback ${r.callbackId}: attempt ${r.attempts} ${outcome}; now ${r.status}`);
    // Twilio's record of the outbound call holds the number it dialled: deleted, with the legs it opened,
    // by a job (its CallSid only) that waits out Twilio's refusal to delete a call just over (20009).
    const callSid = str(params.CallSid);
    if (isCallSid(callSid) && !(await this.callDeletions.deleteCall(callSid).catch(() => false)))
      this.logger.warn(`callback attempt ${attemptId}: the deletion of its call at Twilio not queued; the worker's reconciler will`);
  }
}
