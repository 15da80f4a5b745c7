import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { CallLegs, CallRecordings, CallbackBook, CallbackNumbers } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { ContactKeys } from '@hotline/crypto';
import { PrivacyJobs, TwilioCallJobs } from '@hotline/jobs';
import { REDIS } from '@hotline/observability';
import { DeletionRequestBook } from '@hotline/privacy';

const PAGE = 500;
/** A callback's call whose end was never reported is looked at after this long. */
const UNREPORTED_CALL_MS = 2 * 3600_000;

/**
 * MySQL, not Redis, says what the privacy line still owes: requests not carried out (or whose
 * closing SMS is not sent), recordings of withdrawn consents still at Twilio, SMS not deleted at
 * Twilio, callbacks' outbound calls not deleted at Twilio (their job lost, never queued because Redis
 * was away when the call ended, or failed for good). This queues each again (job ids dedupe), so work lost with Redis, or never queued because
 * Redis was away when the caller called, is done all the same. It also keeps the pool of one-time
 * contact keys published (the gateway seals a caller's number to one, for the closing SMS), and
 * destroys the keys whose number is erased (a cancelled request; a run that stopped in between).
 */
@Injectable()
export class PrivacyReconciler {
  private readonly logger = new Logger(PrivacyReconciler.name);
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly requests: DeletionRequestBook,
    private readonly contactKeys: ContactKeys,
    private readonly callbacks: CallbackBook,
    private readonly legs: CallLegs,
    private readonly callRecordings: CallRecordings,
    private readonly queues: PrivacyJobs,
    private readonly callbackNumbers: CallbackNumbers,
    private readonly callJobs: TwilioCallJobs,
  ) {}

  /** Tops up the pool of one-time contact keys the gateway takes from (one per deletion request). */
  async publishContactKey(): Promise<void> {
    await this.contactKeys.publish(this.redis);
  }

  /** One-time contact keys of requests whose sealed number is erased (sent, given up, cancelled): destroyed. */
  async destroySpentContactKeys(): Promise<number> {
    const rows = await this.requests.spentContactKeys(PAGE);
    for (const r of rows) {
      await this.contactKeys.destroy(r.contactKeyId);
      await this.requests.forgetContactKey(r.id, r.contactKeyId);
    }
    return rows.length;
  }

  /**
   * One-time contact keys of callbacks whose sealed copy is gone (records moved the number under the
   * call's data key, or the callback closed or was withdrawn): destroyed, which makes every copy of the
   * sealed number (binlogs, backups) unreadable.
   */
  async destroySpentCallbackKeys(): Promise<number> {
    const spent = await this.callbacks.spentContactKeys(PAGE);
    for (const s of spent) {
      await this.contactKeys.destroy(s.contactKeyId);
      await this.callbacks.forgetContactKey(s.id, s.contactKeyId);
    }
    return spent.length;
  }

  async run(now = this.clock.now()): Promise<{ requests: number; recordings: number; sms: number; calls: number }> {
    await this.publishContactKey();
    await this.destroySpentContactKeys();
    // A callback number still under its one-time seal goes under its call's data key (then dies with
    // the call), and the spent one-time keys are destroyed.
    await this.callbackNumbers
      .moveSealed(PAGE)
      .catch((e) => this.logger.warn({ msg: 'callback numbers not moved', error: (e as Error).name }));
    await this.destroySpentCallbackKeys();
    const requests = await this.requests.owed(PAGE);
    for (const r of requests) await this.queues.deletionRequest(r.id, r.executeAfter);

    const recordings = await this.callRecordings.callsOwingWithdrawnDeletion(PAGE);
    for (const callId of recordings) await this.queues.deleteRecordings(callId);

    const sms = await this.requests.smsNotDeleted(new Date(now.getTime() - this.queues.smsDelayMs), PAGE);
    for (const sid of sms) await this.queues.deleteSms(sid, 0);

    // Callbacks' outbound calls ended (past the gateway's own job's first try) and not yet deleted at Twilio.
    const calls = await this.legs.outboundCallsOwed(
      new Date(now.getTime() - this.callJobs.firstTryAfterMs),
      new Date(now.getTime() - UNREPORTED_CALL_MS),
      PAGE,
    );
    for (const sid of calls) await this.callJobs.deleteCall(sid, 0);

    const result = { requests: requests.length, recordings: recordings.length, sms: sms.length, calls: calls.length };
    if (result.requests || result.recordings || result.sms || result.calls)
      this.logger.log({ msg: 'privacy work re-queued from MySQL', ...result });
    return result;
  }
}
