import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'crypto';
import { CallbackBook } from '@hotline/calls/records';
import { CallbackCaps } from '@hotline/calls/callback-caps';
import { checkCallbackNumber, callbackCountries, unknownCallbackCountries } from '@hotline/calls/callback-policy';
import { Clock } from '@hotline/clock';
import {
  ENV,
  Env,
  OverflowChoice,
  OverflowReason,
  ROUTING_CONFIG,
  RoutingConfig,
  WORDING,
  Wording,
  durationMs,
  isOpen,
} from '@hotline/config';
import { CONTACT_KEYS_REDIS_KEY, parsePublishedContactKey, sealContact } from '@hotline/crypto/contact-seal';
import { PseudonymService } from '@hotline/crypto/pseudonym';
import { counter, withTimeout } from '@hotline/observability';
import { CallerLocations, DEFAULT_ROUTING_PREFIX, RoutingStore } from '@hotline/routing';
import { LiveEvents } from '../live/live-events';
import { GatewayRecords } from '../calls/gateway-records';
import { ROUTING_REDIS } from '../state/routing-state';
import { CallTwiml } from '../twiml/twiml';
import { withCallbackBook } from './callback-book';
import { CODE_CHOICES, OverflowTwiml } from './overflow.twiml';
import { TwilioParams, isCallSid, isId, str } from '../webhooks/twilio-params';
import {
  VoiceOverflowBackupDialledFields,
  VoiceOverflowCallbackConsentFields,
  VoiceOverflowChoiceFields,
  VoiceOverflowLeftFields,
  VoiceOverflowVoicemailConsentFields,
} from '../webhooks/twilio-fields';

const REDIS_MS = 1000;
const STATE_TTL_SECONDS = 6 * 3600;

const choices = counter('hotline_overflow_total', 'Overflow offers and the choices callers made', ['step']);
const refusals = counter('hotline_callback_refused_total', 'Callbacks and follow-ups refused (where, and why: never whose)', [
  'stage',
  'reason',
]);

/**
 * When nobody can answer (the line is closed, no operator is signed in, or the caller has waited
 * past the maximum) the wait loop offers the caller the configured choices instead of more music:
 * keep waiting, a callback, a voice message, the backup line. Each offer and choice is on the call's
 * record (`call_overflow`). What the caller chose, for the step after they leave the queue, is kept
 * in Redis under the call's id (never a number). A callback's number is sealed here to a one-time
 * public key (the gateway cannot open it) and leaves no other trace: not in Redis, a job or a log.
 */
@Injectable()
export class OverflowService {
  private readonly logger = new Logger(OverflowService.name);
  /** The countries a callback may call (CALLBACK_COUNTRIES, default the hotline number's): issue 24. */
  private readonly countries: ReadonlySet<string>;
  /** The caps on callbacks booked: per number per day, the line's per hour. */
  private readonly caps: CallbackCaps;

  constructor(
    @Inject(ENV) env: Env,
    @Inject(ROUTING_CONFIG) private readonly cfg: RoutingConfig,
    @Inject(WORDING) private readonly wording: Wording,
    @Inject(ROUTING_REDIS) private readonly redis: Redis,
    private readonly twiml: OverflowTwiml,
    private readonly store: RoutingStore,
    private readonly repos: GatewayRecords,
    private readonly pseudonyms: PseudonymService,
    private readonly clock: Clock,
    private readonly locations: CallerLocations,
    private readonly live: LiveEvents,
  ) {
    this.countries = callbackCountries(env, cfg.hotlineNumber);
    this.caps = new CallbackCaps(redis, cfg.callbacks.caps, clock);
    const unknown = unknownCallbackCountries(this.countries);
    if (unknown.length) this.logger.warn(`CALLBACK_COUNTRIES names ${unknown.join(', ')}: no number of those can be called back`);
    if (cfg.overflow.includes('callback') && !this.countries.size)
      this.logger.warn(
        'callbacks are offered, but no country may be called back (CALLBACK_COUNTRIES unset, no hotlineNumber): none is offered',
      );
  }

  /** Whether a callback may be offered to, or booked for, this caller ID: a number to dial, of an allowed country, no premium range. */
  private callbackNumber(from: string) {
    return checkCallbackNumber(from, this.countries);
  }

  private stateKey(callId: string): string {
    return `${DEFAULT_ROUTING_PREFIX}ovf:${callId}`;
  }

  private book<T>(work: (b: CallbackBook) => Promise<T>): Promise<T> {
    return withCallbackBook(this.repos, work);
  }

  /**
   * From the wait URL: the choices to offer now, as TwiML, or null to keep playing the wait music.
   * Fails open: when Redis or MySQL cannot say, the caller keeps waiting.
   */
  async check(callId: string, callSid: string, from: string, consent: boolean, enqueuedAt: number): Promise<string | null> {
    if (!this.cfg.overflow.length || !isId(callId)) return null;
    const now = this.clock.nowMs();
    const waited = now - enqueuedAt;
    let reason: OverflowReason | null = null;
    try {
      const kept = Number((await withTimeout(this.redis.hget(this.stateKey(callId), 'kept'), REDIS_MS)) ?? 0);
      if (!isOpen(this.cfg, new Date(now))) reason = 'closed';
      // After "keep waiting" the choices come again only after another full maximum wait.
      else if (now - Math.max(enqueuedAt, kept) >= durationMs(this.cfg.maxWait)) reason = 'max_wait';
      else if (!kept && waited >= durationMs(this.cfg.nobodyAvailableAfter) && (await this.nobodySignedIn())) reason = 'nobody_available';
    } catch (e) {
      this.logger.warn(`call ${callId}: overflow not checked (${(e as Error).message.slice(0, 80)}); the caller keeps waiting`);
      return null;
    }
    if (!reason) return null;
    const offered = this.cfg.overflow.filter(
      // A callback needs a number we may dial: not to a withheld or unavailable caller ID, and not to one of
      // a country callbacks may not call or of a premium-rate or special range (issue 24).
      (c) => !(c === 'keep_waiting' && reason === 'closed') && !(c === 'callback' && !this.callbackNumber(from).ok),
    );
    if (!offered.length) return null;
    choices.inc({ step: `offered_${reason}` });
    await this.book((b) => b.offered(callId, reason, this.cfg.version, new Date(now))).catch((e) =>
      this.logger.warn(`call ${callId}: overflow offer not on record (${(e as Error).message.slice(0, 80)})`),
    );
    return this.twiml.offer(reason, offered, { c: callId, r: consent ? 1 : 0, q: enqueuedAt, s: callSid });
  }

  private async nobodySignedIn(): Promise<boolean> {
    const s = await withTimeout(this.store.stats(), REDIS_MS);
    return s.operators.available + s.operators.offered + s.operators.onCall + s.operators.wrapUp === 0;
  }

  /** The key the caller pressed on the choices. */
  async choice(query: TwilioParams, params: VoiceOverflowChoiceFields): Promise<string> {
    const callId = str(query.c);
    const offered = [...str(query.o)].map((k) => CODE_CHOICES[k]).filter(Boolean);
    const digit = Number(str(params.Digits));
    const choice: OverflowChoice | undefined = offered[digit - 1];
    if (!isId(callId) || !choice) return this.twiml.words('keepWaiting');
    const q = { c: callId };
    if (choice === 'keep_waiting') {
      choices.inc({ step: 'keep_waiting' });
      await this.remember(callId, { kept: String(this.clock.nowMs()) });
      await this.chose(callId, 'keep_waiting');
      return this.twiml.words('keepWaiting');
    }
    if (choice === 'callback') {
      const check = this.callbackNumber(str(params.From));
      if (check.ok) return this.twiml.consent('callback', q);
      return this.refuseCallback(callId, check.refusal);
    }
    if (choice === 'voicemail') return this.twiml.consent('voicemail', q);
    // The backup line: out of the queue, then dialled from the queue's action.
    if (!(await this.remember(callId, { next: 'backup_line' }))) return this.twiml.words('keepWaiting');
    choices.inc({ step: 'backup_line' });
    await this.chose(callId, 'backup_line');
    return OverflowTwiml.leave();
  }

  /**
   * The answer to the callback consent. 1: the number is sealed (one-time key from the pool the
   * worker keeps published), the callback filed with the consent and its wording version, and the
   * caller leaves the queue to hear that it is booked. Anything else: back to waiting, nothing kept.
   * A withheld or unavailable caller ID is no number to call back: the caller is told so, nothing kept.
   */
  async callbackConsent(query: TwilioParams, params: VoiceOverflowCallbackConsentFields): Promise<string> {
    const callId = str(query.c);
    const from = str(params.From);
    const callSid = str(params.CallSid);
    if (!isId(callId) || !isCallSid(callSid)) return this.twiml.words('notConsented');
    const check = this.callbackNumber(from);
    if (!check.ok) return this.refuseCallback(callId, check.refusal);
    const number = check.number;
    const at = this.clock.now();
    if (str(params.Digits) !== '1') {
      await this.book((b) => b.consent(callId, this.pseudonyms.of(from), 'callback', false, this.wording.version, at)).catch(
        () => undefined,
      );
      return this.twiml.words('notConsented');
    }
    const id = randomUUID();
    // The caps on bookings (per number per day, the line's per hour): over one, nothing is kept (issue 24).
    const pseudonym = this.pseudonyms.of(from)!;
    const cap = await this.caps.take('booking', pseudonym, id).catch((e: Error) => {
      this.logger.warn(
        `call ${callId}: the caps on callbacks cannot be checked (${e.message.slice(0, 80)}); nothing booked, the caller keeps waiting`,
      );
      return null;
    });
    if (!cap) return this.twiml.words('notConsented');
    if (!cap.ok) {
      refusals.inc({ stage: 'booking', reason: `cap_${cap.cap}` });
      this.logger.warn(`call ${callId}: callback refused, the ${cap.cap} cap on bookings is full`);
      if (cap.alert) this.live.toSupervisors('alert:callback_cap', { cap: cap.cap, stage: 'booking', at: at.toISOString() });
      return this.twiml.words('callbackRefused');
    }
    const key = parsePublishedContactKey(await withTimeout(this.redis.lpop(CONTACT_KEYS_REDIS_KEY), REDIS_MS).catch(() => null));
    if (!key) {
      this.logger.warn(`call ${callId}: no one-time contact key to seal a callback number to; the caller keeps waiting`);
      return this.twiml.words('notConsented');
    }
    try {
      const filed = await this.book((b) =>
        b.request(
          {
            id,
            callId,
            kind: 'callback',
            callerPseudonym: pseudonym,
            contactKeyId: key.id,
            sealedNumber: sealContact(key.key, number, id),
            preferredOperatorId: null,
            dueAt: at,
            maxAttempts: this.cfg.callbacks.maxAttempts,
            wordingVersion: this.wording.version,
            consentedAt: at,
          },
          at,
        ),
      );
      if (!filed.created) await this.redis.lpush(CONTACT_KEYS_REDIS_KEY, JSON.stringify(key)).catch(() => undefined);
      await this.book((b) => b.chose(callId, 'callback', at));
    } catch (e) {
      await this.redis.lpush(CONTACT_KEYS_REDIS_KEY, JSON.stringify(key)).catch(() => undefined);
      this.logger.warn(`call ${callId}: callback not filed (${(e as Error).message.slice(0, 80)}); the caller keeps waiting`);
      return this.twiml.words('notConsented');
    }
    choices.inc({ step: 'callback' });
    await this.remember(callId, { next: 'callback_booked' });
    return OverflowTwiml.leave();
  }

  /**
   * No callback for this caller ID: withheld (the caller hears why), or of a country callbacks may not
   * call or a premium-rate or special range (they hear that we cannot call them back on it). Counted,
   * logged with the call's id and the reason only: never the number.
   */
  private refuseCallback(callId: string, refusal: 'withheld' | 'invalid' | 'premium' | 'country'): string {
    refusals.inc({ stage: 'booking', reason: refusal });
    if (refusal === 'withheld') return this.twiml.words('callbackWithheld');
    this.logger.log(`call ${callId}: no callback offered or booked (${refusal} number)`);
    return this.twiml.words('callbackRefused');
  }

  /** The answer to the voicemail consent: 1 records the consent and leaves the queue to record; else nothing is recorded. */
  async voicemailConsent(query: TwilioParams, params: VoiceOverflowVoicemailConsentFields): Promise<string> {
    const callId = str(query.c);
    if (!isId(callId)) return this.twiml.words('notConsented');
    const granted = str(params.Digits) === '1';
    const at = this.clock.now();
    try {
      await this.book((b) => b.consent(callId, this.pseudonyms.of(str(params.From)), 'voicemail', granted, this.wording.version, at));
    } catch (e) {
      // Without the consent on record there is no recording.
      this.logger.warn(`call ${callId}: voicemail consent not on record (${(e as Error).message.slice(0, 80)}); not recording`);
      return this.twiml.words('notConsented');
    }
    if (!granted) return this.twiml.words('notConsented');
    if (!(await this.remember(callId, { next: 'voicemail' }))) return this.twiml.words('notConsented');
    choices.inc({ step: 'voicemail' });
    await this.chose(callId, 'voicemail');
    return OverflowTwiml.leave();
  }

  /** `<Enqueue action>`: the caller left the queue. What they chose decides what comes next. */
  async left(query: TwilioParams, params: VoiceOverflowLeftFields): Promise<string> {
    const callId = str(query.c);
    const result = str(params.QueueResult);
    // Twilio's own failures: the caller hears so. Hung up, or taken out of the queue by a call update
    // (an operator's dial): nothing to add, the call is elsewhere.
    if (['queue-full', 'error', 'system-error'].includes(result)) return this.twiml.unavailable();
    if (result !== 'leave' || !isId(callId)) return CallTwiml.empty();
    const next = await withTimeout(this.redis.hget(this.stateKey(callId), 'next'), REDIS_MS).catch(() => null);
    // Out of the queue for good: out of routing too (no operator is offered a caller who is recording a
    // message or on the backup line), and the caller-ID location goes. The record ends when they hang up.
    const callSid = str(params.CallSid);
    if (isCallSid(callSid)) await withTimeout(this.store.callStatus(callSid, null, true), REDIS_MS).catch(() => undefined);
    await withTimeout(this.locations.forget(callId), REDIS_MS).catch(() => undefined);
    if (next === 'callback_booked') return this.twiml.callbackBooked();
    if (next === 'voicemail') return this.twiml.voicemail(callId);
    if (next === 'backup_line' && this.cfg.backupLine) return this.twiml.backupLine();
    return this.twiml.unavailable();
  }

  voicemailDone(): string {
    return this.twiml.voicemailThanks();
  }

  /**
   * The backup line's `<Dial action>`: answered there and over (`completed`), the call simply ends;
   * busy, not answered, failed: the caller hears that we cannot take the call.
   */
  backupDialled(params: VoiceOverflowBackupDialledFields): string {
    const answered = str(params.DialCallStatus) === 'completed';
    choices.inc({ step: answered ? 'backup_line_answered' : 'backup_line_unanswered' });
    return this.twiml.backupLineEnded(answered);
  }

  private async chose(callId: string, choice: OverflowChoice): Promise<void> {
    await this.book((b) => b.chose(callId, choice, this.clock.now())).catch((e) =>
      this.logger.warn(`call ${callId}: overflow choice not on record (${(e as Error).message.slice(0, 80)})`),
    );
  }

  private async remember(callId: string, fields: Record<string, string>): Promise<boolean> {
    try {
      await withTimeout(
        this.redis.multi().hset(this.stateKey(callId), fields).expire(this.stateKey(callId), STATE_TTL_SECONDS).exec(),
        REDIS_MS,
      );
      return true;
    } catch (e) {
      this.logger.warn(`call ${callId}: overflow state not kept (${(e as Error).message.slice(0, 80)})`);
      return false;
    }
  }
}
