import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { CallRecordings } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { ENV, Env, masterKeys } from '@hotline/config';
import { CONTACT_PUBLIC_KEY_REDIS_KEY, contactPublicKeyPem } from '@hotline/crypto';
import { PrivacyJobs } from '@hotline/jobs';
import { REDIS } from '@hotline/observability';
import { IN_PROGRESS } from '@hotline/privacy';

const PAGE = 500;

/**
 * MySQL, not Redis, says what the privacy line still owes: requests not carried out (or whose
 * closing SMS is not sent), recordings of withdrawn consents still at Twilio, SMS not deleted at
 * Twilio. This queues each again (job ids dedupe), so work lost with Redis, or never queued because
 * Redis was away when the caller called, is done all the same. It also publishes the public key
 * the gateway seals callers' numbers to.
 */
@Injectable()
export class PrivacyReconciler {
  private readonly logger = new Logger(PrivacyReconciler.name);
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(REDIS) private readonly redis: Redis,
    @InjectDataSource() private readonly db: DataSource,
    private readonly callRecordings: CallRecordings,
    private readonly queues: PrivacyJobs,
  ) {}

  async publishContactKey(): Promise<void> {
    await this.redis.set(CONTACT_PUBLIC_KEY_REDIS_KEY, contactPublicKeyPem(masterKeys(this.env).current));
  }

  async run(now = this.clock.now()): Promise<{ requests: number; recordings: number; sms: number }> {
    await this.publishContactKey();
    const requests: { id: string; execute_after: Date }[] = await this.db.query(
      `SELECT id, execute_after FROM deletion_requests
        WHERE status IN ('pending', ?) OR (status IN ('done', 'partly_held') AND contact_enc IS NOT NULL)
        ORDER BY execute_after LIMIT ${PAGE}`,
      [IN_PROGRESS],
    );
    for (const r of requests) await this.queues.deletionRequest(r.id, new Date(r.execute_after));

    const recordings = await this.callRecordings.callsOwingWithdrawnDeletion(PAGE);
    for (const callId of recordings) await this.queues.deleteRecordings(callId);

    const sms: { message_sid: string }[] = await this.db.query(
      `SELECT message_sid FROM sms_messages WHERE deleted_at IS NULL AND sent_at < ? LIMIT ${PAGE}`,
      [new Date(now.getTime() - this.queues.smsDelayMs)],
    );
    for (const s of sms) await this.queues.deleteSms(s.message_sid, 0);

    const result = { requests: requests.length, recordings: recordings.length, sms: sms.length };
    if (result.requests || result.recordings || result.sms) this.logger.log({ msg: 'privacy work re-queued from MySQL', ...result });
    return result;
  }
}
