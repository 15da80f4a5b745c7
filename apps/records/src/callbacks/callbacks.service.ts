import {
  BadGatewayException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import {
  CallRepository,
  CallbackBook,
  CallbackCapped,
  CallbackCaps,
  CallbackCapsUnknown,
  CallbackGuard,
  CallbackNotDue,
  CallbackNumbers,
  CallbackRefused,
  callbackCountries,
  checkCallbackNumber,
  countryName,
  publishCallbackCapAlert,
  unknownCallbackCountries,
} from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { ENV, Env, ROUTING_CONFIG, RoutingConfig, WORDING, Wording, addDuration, durationMs, pseudonymKey } from '@hotline/config';
import { callerPseudonym } from '@hotline/crypto/pseudonym';
import { REDIS, counter, withTimeout } from '@hotline/observability';
import { liveCallersWaiting } from '@hotline/routing';
import { TwilioService } from '@hotline/twilio';
import type Redis from 'ioredis';
import { twilioAnswer } from './rescue.service';

const NOT_FOUND = 'no such call';

const refusals = counter('hotline_callback_refused_total', 'Callbacks and follow-ups refused (where, and why: never whose)', [
  'stage',
  'reason',
]);

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
  /** Where callbacks may call, how often, and the caps on their calls (issue 24). */
  private readonly guard: CallbackGuard;

  constructor(
    @Inject(ENV) env: Env,
    @Inject(ROUTING_CONFIG) private readonly cfg: RoutingConfig,
    @Inject(WORDING) private readonly wording: Wording,
    private readonly book: CallbackBook,
    private readonly numbers: CallbackNumbers,
    private readonly calls: CallRepository,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.base = env.PUBLIC_URL.replace(/\/$/, '');
    const key = pseudonymKey(env);
    this.guard = {
      countries: callbackCountries(env, cfg.hotlineNumber),
      maxAttempts: cfg.callbacks.maxAttempts,
      retryAfterMs: durationMs(cfg.callbacks.retryAfter),
      caps: new CallbackCaps(redis, cfg.callbacks.caps, clock),
      pseudonymOf: (number) => callerPseudonym(key, number),
    };
    const unknown = unknownCallbackCountries(this.guard.countries);
    if (unknown.length) this.logger.warn(`CALLBACK_COUNTRIES names ${unknown.join(', ')}: no number of those can be called back`);
    if (!this.guard.countries.size)
      this.logger.warn('no country to call back (CALLBACK_COUNTRIES unset, no hotlineNumber): none is dialled');
  }

  private get overdueAfterMs(): number {
    return durationMs(this.cfg.callbacks.dueWithin);
  }

  async list(user: Principal) {
    // Numbers still under their one-time seal move under their call's data key (bounded, best effort).
    await this.numbers
      .moveSealed()
      .catch((e) => this.logger.warn(`sealed callback numbers not moved yet: ${(e as Error).message.slice(0, 80)}`));
    const items = await this.numbers.due(user.id, this.clock.now(), this.overdueAfterMs);
    return {
      // The country being called, never the number.
      items: items.map((i) => ({ ...i, countryName: countryName(i.country) })),
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
    const stats = await this.book.stats(now, this.overdueAfterMs, dayStart);
    // The wallboard's view of the caps: refusals in the last hour, by where and which cap (counts only).
    const capRefusals = await this.guard.caps.refusalsSince(now.getTime() - 3600_000).catch(() => null);
    return { ...stats, capRefusalsLastHour: capRefusals };
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
      claim = await this.numbers.claim(callbackId, user.id, now, this.guard);
    } catch (e) {
      if (e instanceof CallbackNotDue) {
        if (!(await this.numbers.callOf(callbackId))) throw new NotFoundException('no such callback');
        throw new ConflictException((e as Error).message);
      }
      // Never the number: the reason, or the cap, alone.
      if (e instanceof CallbackRefused) {
        refusals.inc({ stage: 'dialling', reason: e.reason });
        this.logger.warn(`callback ${callbackId}: refused (${e.reason}), closed; nothing dialled`);
        throw new ConflictException(e.message);
      }
      if (e instanceof CallbackCapped) {
        refusals.inc({ stage: 'dialling', reason: `cap_${e.cap}` });
        this.logger.warn(`callback ${callbackId}: not dialled, the ${e.cap} cap on callbacks' calls is full`);
        await this.audit.append({
          actorId: user.id,
          actorRole: user.role,
          action: 'callback.cap_refused',
          targetType: 'call',
          targetId: await this.numbers.callOf(callbackId),
          detail: { callbackId, cap: e.cap, stage: 'dialling' },
        });
        if (e.alert && !(await publishCallbackCapAlert(this.redis, { cap: e.cap, stage: 'dialling', at: now.toISOString() })))
          this.logger.warn('callback cap alert not published');
        throw new ConflictException(e.message);
      }
      if (e instanceof CallbackCapsUnknown) throw new ServiceUnavailableException(e.message);
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
      await this.numbers.notPlaced(claim.attemptId, now);
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
      detail: { callbackId, attemptId: claim.attemptId, country: claim.country },
    });
    return { attemptId: claim.attemptId, status: 'dialling', country: claim.country, countryName: countryName(claim.country) };
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
    // Twilio's stand-ins for a withheld or unavailable caller ID are no number to call; nor is a number of a
    // country callbacks may not call, or of a premium-rate or special range (issue 24).
    const check = caller ? checkCallbackNumber(caller.from, this.guard.countries) : null;
    if (!check || (!check.ok && check.refusal === 'withheld'))
      throw new ConflictException('the caller’s number is withheld or no longer held by Twilio: no follow-up can be scheduled');
    if (!check.ok) {
      refusals.inc({ stage: 'followup', reason: check.refusal });
      await this.audit.append({
        actorId: user.id,
        actorRole: user.role,
        action: 'followup.refused',
        targetType: 'call',
        targetId: callId,
        detail: { reason: check.refusal, country: check.country },
      });
      throw new ConflictException(
        check.refusal === 'country'
          ? 'the caller’s number is of a country callbacks may not call (CALLBACK_COUNTRIES): no follow-up can be scheduled'
          : 'the caller’s number is of a premium-rate or special range: no follow-up can be scheduled',
      );
    }
    const number = check.number;
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
