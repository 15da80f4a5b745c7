import { BadGatewayException, ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import { CallbackBook, CallbackNotDue, CallbackNumbers, CallRepository } from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { ENV, Env, ROUTING_CONFIG, RoutingConfig, WORDING, Wording, addDuration, durationMs } from '@hotline/config';
import { dialableNumber } from '@hotline/crypto/pseudonym';
import { REDIS, withTimeout } from '@hotline/observability';
import { liveCallersWaiting } from '@hotline/routing';
import { TwilioService } from '@hotline/twilio';
import type Redis from 'ioredis';
import { twilioAnswer } from './rescue.service';

const NOT_FOUND = 'no such call';

/**
 * A callback's outbound call: with Twilio's answering machine detection (synchronous: the call's Url
 * is asked once Twilio knows who answered, with `AnsweredBy`), so that a voicemail is not the caller
 * reached. `DetectMessageEnd` waits for a machine's greeting to end, for the words
 * `callbacks.onMachine: message` leaves; `Enable` answers as soon as it knows.
 */
type CallbackPlacement = Parameters<TwilioService['placeCall']>[0] & { machineDetection: 'Enable' | 'DetectMessageEnd' };

/**
 * Callbacks for operators: the list of those due (no number), the outbound call (the number is
 * opened here, handed to Twilio, and forgotten), follow-ups scheduled at wrap-up (the number read
 * from Twilio's record of the call, straight under the call's data key), and the wallboard's counts.
 */
@Injectable()
export class CallbacksService {
  private readonly logger = new Logger(CallbacksService.name);
  private readonly base: string;

  constructor(
    @Inject(ENV) env: Env,
    @Inject(ROUTING_CONFIG) private readonly cfg: RoutingConfig,
    @Inject(WORDING) private readonly wording: Wording,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly numbers: CallbackNumbers,
    private readonly calls: CallRepository,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.base = env.PUBLIC_URL.replace(/\/$/, '');
  }

  private get overdueAfterMs(): number {
    return durationMs(this.cfg.callbacks.dueWithin);
  }

  async list(user: Principal) {
    // Numbers still under their one-time seal move under their call's data key (bounded, best effort).
    await this.numbers
      .moveSealed()
      .catch((e) => this.logger.warn(`sealed callback numbers not moved yet: ${(e as Error).message.slice(0, 80)}`));
    return {
      items: await this.numbers.due(user.id, this.clock.now(), this.overdueAfterMs),
      priority: this.cfg.callbacks.priority,
      liveWaiting: await this.liveWaiting(),
    };
  }

  /** Callers waiting live now; 0 when Redis cannot say (a callback is not held back for want of an answer). */
  private liveWaiting(): Promise<number> {
    return withTimeout(liveCallersWaiting(this.redis), 1000).catch(() => 0);
  }

  async summary() {
    const now = this.clock.now();
    const dayStart = new Date(now);
    dayStart.setUTCHours(0, 0, 0, 0);
    return new CallbackBook(this.ds).stats(now, this.overdueAfterMs, dayStart);
  }

  /** One attempt: the callback is claimed, the call placed from the hotline number, the attempt on record. */
  async dial(user: Principal, callbackId: string) {
    const now = this.clock.now();
    if (!this.cfg.hotlineNumber) throw new ConflictException('callbacks need hotlineNumber in config/routing.yaml');
    // callbacks.priority: after_live: a caller waiting live is answered before anyone is called back.
    if (this.cfg.callbacks.priority === 'after_live' && (await this.liveWaiting()) > 0)
      throw new ConflictException('callers are waiting live: answer them first (callbacks.priority: after_live)');
    let claim;
    try {
      claim = await this.numbers.claim(callbackId, user.id, now);
    } catch (e) {
      if (e instanceof CallbackNotDue) {
        if (!(await this.numbers.callOf(callbackId))) throw new NotFoundException('no such callback');
        throw new ConflictException((e as Error).message);
      }
      throw e;
    }
    try {
      const placement: CallbackPlacement = {
        to: claim.number,
        from: this.cfg.hotlineNumber,
        url: `${this.base}/twilio/voice/callback/answered?${new URLSearchParams({ o: user.id, c: claim.callId, a: claim.attemptId })}`,
        statusCallback: `${this.base}/twilio/voice/callback/status?${new URLSearchParams({ a: claim.attemptId })}`,
        machineDetection: this.cfg.callbacks.onMachine === 'message' ? 'DetectMessageEnd' : 'Enable',
      };
      const placed = await this.twilio.placeCall(placement);
      await this.numbers.placed(claim.attemptId, placed.sid);
    } catch (e) {
      await this.numbers.notPlaced(claim.attemptId, now, durationMs(this.cfg.callbacks.retryAfter));
      // Twilio's message may quote the number it refused: the status and code only.
      const err = e as { status?: number; code?: number; name?: string };
      this.logger.warn(
        `callback ${callbackId}: Twilio did not place the call (status ${err.status ?? '-'}, code ${err.code ?? err.name ?? '-'})`,
      );
      throw new BadGatewayException('Twilio did not place the call; the attempt counts as failed');
    }
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'callback.dialled',
      targetType: 'call',
      targetId: claim.callId,
      detail: { callbackId, attemptId: claim.attemptId },
    });
    return { attemptId: claim.attemptId, status: 'dialling' };
  }

  /**
   * At wrap-up, with the caller's agreement: a follow-up call in `inHours` (default from the routing
   * file). Only the operator who took the call; the number is read from Twilio's record of the call.
   */
  async followup(user: Principal, callId: string, inHours?: number) {
    const call = await this.calls.findSummary(callId);
    if (!call || call.operatorId !== user.id) throw new NotFoundException(NOT_FOUND);
    const callSid = await this.callSid(callId);
    const caller = callSid ? await twilioAnswer(() => this.twilio.caller(callSid)) : null;
    // Twilio's stand-ins for a withheld or unavailable caller ID are no number to call.
    const number = caller ? dialableNumber(caller.from) : null;
    if (!number) throw new ConflictException('the caller’s number is withheld or no longer held by Twilio: no follow-up can be scheduled');
    const now = this.clock.now();
    const dueAt = inHours ? new Date(now.getTime() + inHours * 3600_000) : addDuration(now, this.cfg.followups.defaultDelay);
    const r = await this.numbers.scheduleFollowup(
      {
        callId,
        operatorId: user.id,
        number,
        dueAt,
        maxAttempts: this.cfg.callbacks.maxAttempts,
        wordingVersion: this.wording.version,
      },
      now,
    );
    if (!r.created) throw new ConflictException('a follow-up is already scheduled for this call');
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'followup.scheduled',
      targetType: 'call',
      targetId: callId,
      detail: { callbackId: r.id, dueAt: dueAt.toISOString() },
    });
    return { id: r.id, dueAt };
  }

  private async callSid(callId: string): Promise<string | null> {
    return this.numbers.callSidOf(callId);
  }
}
