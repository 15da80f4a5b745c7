import { Injectable } from '@nestjs/common';
import { RetentionJobs, SecureDeleteBatchJobData, SecureDeleteJobData, TwilioCleanupJobData } from '@hotline/jobs';
import { SecureDeleteOutcome, TwilioCleanupOutcome, TwilioCleanupService } from '@hotline/retention';
import { SecureDeleteBatcher } from './secure-delete.batcher';

/**
 * Twilio cleanups run two at a time on a worker (each deletes up to 16 resources at once): Twilio
 * limits concurrent requests per account, and hundreds of cleanups started together (a large purge)
 * would open thousands of connections at once and make every one of them slow.
 */
const CLEANUPS_AT_ONCE = 2;

/**
 * Secure deletion jobs. One call (`secure-delete`): a failure throws, so BullMQ retries it with
 * backoff. A scan's page (`secure-delete-batch`): the calls go to the batcher together; a call that
 * fails gets a `secure-delete` job of its own (its retries, its audited last failure). A held call
 * is skipped, not failed. Then what the destroyed calls left at Twilio (`twilio-cleanup`), once
 * no destruction is waiting here.
 */
@Injectable()
export class SecureDeleteProcessor {
  constructor(
    private readonly batcher: SecureDeleteBatcher,
    private readonly queue: RetentionJobs,
    private readonly twilioCleanup: TwilioCleanupService,
  ) {}

  async process(data: SecureDeleteJobData): Promise<Exclude<SecureDeleteOutcome, { outcome: 'failed' }>> {
    const outcome = await this.batcher.submit({
      callId: data.callId,
      reason: data.reason,
      deletionRequestId: data.deletionRequestId ?? null,
    });
    if (outcome.outcome === 'failed') throw outcome.error;
    return outcome;
  }

  async processBatch(data: SecureDeleteBatchJobData): Promise<Record<string, number>> {
    const outcomes = await Promise.all(data.callIds.map((callId) => this.batcher.submit({ callId, reason: 'retention' })));
    const failed = outcomes.filter((o) => o.outcome === 'failed');
    if (failed.length) await this.queue.addSecureDeletes(failed.map((o) => ({ callId: o.callId, reason: 'retention' as const })));
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1;
    return counts;
  }

  private cleanupsRunning = 0;
  private readonly cleanupQueue: (() => void)[] = [];

  async cleanUpAtTwilio(data: TwilioCleanupJobData): Promise<TwilioCleanupOutcome> {
    // The records go first: while destruction is waiting here, Twilio's copies wait (they are sealed meanwhile).
    await this.batcher.idle();
    if (this.cleanupsRunning >= CLEANUPS_AT_ONCE) await new Promise<void>((resolve) => this.cleanupQueue.push(resolve));
    this.cleanupsRunning++;
    try {
      return await this.twilioCleanup.run(data.cleanupId);
    } finally {
      this.cleanupsRunning--;
      this.cleanupQueue.shift()?.();
    }
  }
}
