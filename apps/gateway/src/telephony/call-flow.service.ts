import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { PseudonymService } from '@hotline/crypto/pseudonym';
import { counter, withTimeout } from '@hotline/observability';
import { CallerLocations, RoutingStore } from '@hotline/routing';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { OverflowService } from '../overflow/overflow.service';
import { CallAnswers } from '../routing/call-answers';
import { RoutingEngine } from '../routing/routing.engine';
import { CallTwiml, ConsentQuestion } from '../twiml/twiml';
import { TwilioParams, isCallSid, isId, str } from '../webhooks/twilio-params';
import {
  RecordingStatusFields,
  VoiceAnsweredFields,
  VoiceConsentFields,
  VoiceDialledFields,
  VoiceFollowUpFields,
  VoiceIncomingFields,
  VoiceResearchFields,
  VoiceStatusFields,
  VoiceWaitFields,
} from '../webhooks/twilio-fields';

const REDIS_MS = 1000;
const TERMINAL = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

const intake = counter('hotline_calls_total', 'Calls by step of the call flow', ['step']);

/**
 * The caller's path through the gateway. Nothing here waits on MySQL or Redis for long: when
 * either is away the caller still hears the notice and is enqueued at Twilio (fail open), and
 * what could not be written is queued or reconciled later. The caller's number is turned into
 * its pseudonym here and goes no further; log lines carry call ids only.
 */
@Injectable()
export class CallFlowService {
  private readonly logger = new Logger(CallFlowService.name);
  private readonly waitPause: number;

  constructor(
    @Inject(ENV) env: Env,
    private readonly twiml: CallTwiml,
    private readonly pseudonyms: PseudonymService,
    private readonly store: RoutingStore,
    private readonly engine: RoutingEngine,
    private readonly live: LiveEvents,
    private readonly records: CallRecordsService,
    private readonly clock: Clock,
    private readonly overflow: OverflowService,
    private readonly locations: CallerLocations,
    private readonly answers: CallAnswers,
  ) {
    this.waitPause = env.WAIT_PAUSE_SECONDS;
  }

  /** A call to the hotline: the notice and the consent menu. The call's id is chosen here. */
  incoming(_params: VoiceIncomingFields): string {
    intake.inc({ step: 'incoming' });
    return this.twiml.menu(randomUUID(), this.clock.nowMs());
  }

  /** The menu's answer: 1 consents to recording, 2 or silence declines, 9 goes to the privacy line. */
  async consent(query: TwilioParams, params: VoiceConsentFields): Promise<string> {
    const callId = isId(str(query.c)) ? str(query.c) : randomUUID();
    const startedAt = /^\d{10,14}$/.test(str(query.t)) ? Number(str(query.t)) : this.clock.nowMs();
    const digits = str(params.Digits);
    if (digits === '9') return this.twiml.toPrivacyLine();
    if (digits && digits !== '1' && digits !== '2' && !str(query.n)) return this.twiml.menu(callId, startedAt, false, 1);
    const consent = digits === '1';
    const callSid = str(params.CallSid);
    if (!isCallSid(callSid)) return this.twiml.enqueue(callId, consent, this.clock.nowMs());
    const pseudonym = this.pseudonyms.of(str(params.From));
    const enqueuedAt = this.clock.nowMs();
    intake.inc({ step: consent ? 'consented' : 'declined' });
    // Routing first: the offer goes out before the records write spends any time.
    await this.register(callId, callSid, pseudonym, consent, enqueuedAt);
    // Caller-ID location (FromCity...) for an active rescue: only in the live call's routing state.
    // Kept in Redis while MySQL opens the call (neither waits for the other).
    const located = withTimeout(this.locations.keep(callId, params), REDIS_MS).catch(() => undefined);
    await this.records.open({
      callId,
      callSid,
      callerPseudonym: pseudonym,
      recordingConsent: consent,
      wordingVersion: this.twiml.wordingVersion,
      startedAt: new Date(startedAt).toISOString(),
    });
    await located;
    const first = this.twiml.nextQuestion(null);
    if (first) return this.twiml.question(first, callId, consent, enqueuedAt, true);
    return this.twiml.enqueue(callId, consent, enqueuedAt);
  }

  /**
   * The answer to a consent question (asked when configured): research (the call's structured fields
   * in anonymised research data) or follow-up (the service may contact the caller again). 1 consents;
   * anything else or silence declines. Recorded like any call event (queued when MySQL is away);
   * then the next question, or the queue.
   */
  async answer(kind: ConsentQuestion, query: TwilioParams, params: VoiceResearchFields | VoiceFollowUpFields): Promise<string> {
    const callId = str(query.c);
    const consent = str(query.r) === '1';
    const enqueuedAt = /^\d{10,14}$/.test(str(query.q)) ? Number(str(query.q)) : this.clock.nowMs();
    if (isId(callId) && isCallSid(str(params.CallSid))) {
      const granted = str(params.Digits) === '1';
      intake.inc({ step: `${kind}_${granted ? 'consented' : 'declined'}` });
      await this.records.event({
        kind: 'consent',
        callId,
        consentKind: kind,
        granted,
        wordingVersion: this.twiml.wordingVersion,
        at: new Date(this.clock.nowMs()).toISOString(),
      });
    }
    const next = this.twiml.nextQuestion(kind);
    if (next) return this.twiml.question(next, callId, consent, enqueuedAt, false);
    return this.twiml.enqueue(callId, consent, enqueuedAt, false);
  }

  /**
   * Twilio asks this on every loop of the wait music. It re-registers a call that Redis does not
   * know (Redis was away when the caller was enqueued), so reconciliation needs no job of its own.
   */
  async wait(query: TwilioParams, params: VoiceWaitFields): Promise<string> {
    const callId = str(query.c);
    const callSid = str(params.CallSid);
    if (isId(callId) && isCallSid(callSid)) {
      const enqueuedAt = /^\d{10,14}$/.test(str(query.q)) ? Number(str(query.q)) : this.clock.nowMs();
      await this.register(callId, callSid, this.pseudonyms.of(str(params.From)), str(query.r) === '1', enqueuedAt);
      // Closed, nobody signed in, or waited too long: the caller is offered other ways (config/routing.yaml).
      const offer = await this.overflow.check(callId, callSid, str(params.From), str(query.r) === '1', enqueuedAt);
      if (offer) return offer;
    }
    return this.twiml.wait(this.waitPause);
  }

  private async register(callId: string, callSid: string, pseudonym: string | null, consent: boolean, enqueuedAt: number): Promise<void> {
    try {
      const now = this.clock.nowMs();
      const { state, offers } = await withTimeout(
        this.store.enqueue({ callId, callSid, pseudonym, recordingConsent: consent, enqueuedAt }, now),
        REDIS_MS,
      );
      for (const o of offers) this.live.offered(o, now);
      if (state === 'queued') intake.inc({ step: 'queued' });
    } catch (e) {
      this.logger.warn(
        `call ${callId} is queued at Twilio only (Redis: ${(e as Error).message.slice(0, 80)}); the wait URL will register it`,
      );
    }
  }

  /**
   * `<Dial action>`: how the dial to the operator's browser ended. Answered: the call is over when
   * the dial is. Not answered: the caller goes back to the front of the queue and the operator away.
   */
  async dialled(query: TwilioParams, params: VoiceDialledFields): Promise<string> {
    const status = str(params.DialCallStatus);
    const callId = str(query.c);
    const operatorId = str(query.o);
    if (status === 'completed' || status === 'answered') {
      // The leg was answered: on record (idempotent) in case its `answered` callback never came, if
      // routing agrees this operator has the call (an earlier, unanswered leg never names the operator).
      if (isId(callId) && isId(operatorId)) {
        const call = await withTimeout(this.store.call(callId), REDIS_MS).catch(() => null);
        if (call?.operatorId === operatorId) await this.operatorAnswered(callId, operatorId);
      }
      return CallTwiml.hangup();
    }
    if (!isId(callId)) return CallTwiml.hangup();
    let call = null;
    try {
      if ((await withTimeout(this.store.requeueMissed(callId, operatorId), REDIS_MS)) === 'requeued') {
        this.logger.warn(`call ${callId}: operator ${operatorId} did not pick up (${status.slice(0, 16)}); back in the queue`);
        this.live.revoked(operatorId, callId, 'connect_failed');
        await this.live.sendStatus(operatorId);
        this.engine.kick();
      }
      call = await withTimeout(this.store.call(callId), REDIS_MS);
    } catch (e) {
      this.logger.warn(`call ${callId} re-queued at Twilio only (Redis: ${(e as Error).message.slice(0, 80)})`);
    }
    return this.twiml.requeue(callId, call?.recordingConsent ?? false, call?.enqueuedAt ?? this.clock.nowMs());
  }

  /**
   * The operator's leg answered (`<Client statusCallbackEvent="answered">`): only now does the record
   * say the call was answered and by whom (operator_id gives them need-to-know access).
   */
  async answered(query: TwilioParams, params: VoiceAnsweredFields): Promise<void> {
    const callId = str(query.c);
    const operatorId = str(query.o);
    if (!isId(callId) || !isId(operatorId)) return;
    const status = str(params.CallStatus);
    if (status && status !== 'in-progress' && status !== 'answered') return;
    const legSid = str(params.CallSid);
    await this.answers.answered(callId, operatorId, isCallSid(legSid) ? legSid : null);
  }

  private async operatorAnswered(callId: string, operatorId: string): Promise<void> {
    await this.records.event({ kind: 'connected', callId, operatorId, at: this.clock.now().toISOString() });
  }

  /** Call status callbacks: idempotent on CallSid + SequenceNumber, late ones ignored. */
  async status(params: VoiceStatusFields): Promise<void> {
    const callSid = str(params.CallSid);
    if (!isCallSid(callSid)) return;
    const status = str(params.CallStatus);
    const terminal = TERMINAL.has(status);
    const seqRaw = str(params.SequenceNumber);
    const sequence = /^\d{1,9}$/.test(seqRaw) ? Number(seqRaw) : null;
    const at = this.clock.now().toISOString();
    let result;
    try {
      result = await withTimeout(this.store.callStatus(callSid, sequence, terminal), REDIS_MS);
    } catch (e) {
      this.logger.warn(`status callback for a call not applied to routing (Redis: ${(e as Error).message.slice(0, 80)})`);
      if (terminal) await this.records.event({ kind: 'ended', callId: null, callSid, outcome: 'abandoned', at, sequence });
      return;
    }
    if (result.outcome === 'unknown' && terminal) {
      await this.records.event({ kind: 'ended', callId: null, callSid, outcome: 'abandoned', at, sequence });
      return;
    }
    if (result.outcome !== 'abandoned' && result.outcome !== 'completed') return;
    await withTimeout(this.locations.forget(result.callId), REDIS_MS).catch(() => undefined);
    intake.inc({ step: result.outcome });
    if (result.operatorId) {
      if (result.outcome === 'abandoned') this.live.revoked(result.operatorId, result.callId, 'caller_hung_up');
      else this.live.toOperator(result.operatorId, 'call:ended', { callId: result.callId });
      await this.live.sendStatus(result.operatorId);
      this.engine.kick();
    }
    await this.records.event({ kind: 'ended', callId: result.callId, callSid, outcome: result.outcome, at, sequence });
  }

  /** Recording callbacks: the recording's SID is linked to its call, with its retention deadline. */
  async recording(params: RecordingStatusFields): Promise<void> {
    const callSid = str(params.CallSid);
    const recordingSid = str(params.RecordingSid);
    if (!isCallSid(callSid) || !/^RE[0-9a-fA-F]{32}$/.test(recordingSid)) return;
    const callId = await withTimeout(this.store.callIdForSid(callSid), REDIS_MS).catch(() => null);
    await this.records.event({
      kind: 'recording',
      callId,
      callSid,
      recordingSid,
      status: str(params.RecordingStatus) || 'completed',
      at: this.clock.now().toISOString(),
    });
  }
}
