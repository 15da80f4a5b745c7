import { Injectable } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { JobProducer } from '../job-producer';
import { jobId, schedulerId } from '../job-id';
import { JobName, QueueName, SecureDeleteJobData } from '../jobs';

/** After every pending destruction (jobs without a priority run first): the records go before Twilio's copies. */
const TWILIO_CLEANUP_PRIORITY = 10;
import { JobsRedis } from '../jobs-redis';

const SECURE_DELETE_ATTEMPTS = 4;

function secureDeleteJobOptions(callId: string): JobsOptions & { jobId: string } {
  return {
    jobId: jobId.secureDelete(callId),
    attempts: SECURE_DELETE_ATTEMPTS,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** The retention queue: its schedulers (scan, reconcile), and one secure-delete job per call. */
@Injectable()
export class RetentionJobs extends JobProducer {
  /** The BullMQ queue, for tests and tools that look inside it. */
  readonly queue: Queue;

  constructor(redis: JobsRedis) {
    super(redis);
    this.queue = this.open(QueueName.Retention);
  }

  /**
   * One job per call, with the call's job id: a call already waiting, delayed or running is not
   * queued twice (BullMQ's add script returns the existing job for a known id, in a bulk add as in
   * a single one). Sent as one bulk (one round trip to Redis for a scan page). Finished jobs are
   * removed, so a call still present at the next scan (a failure) is queued again: MySQL, not
   * Redis, says what is left to do.
   */
  async addSecureDeletes(items: SecureDeleteJobData[]): Promise<void> {
    await this.addBulk(
      this.queue,
      items.map((data) => ({ name: JobName.SecureDelete, data, opts: secureDeleteJobOptions(data.callId) })),
    );
  }

  /**
   * A scan's page of expired calls as one job (one BullMQ job per call cost more than the
   * destruction itself). Its processor gives a call that fails a `secure-delete` job of its own,
   * with that job's retries and its audited last failure.
   */
  async addSecureDeleteBatch(callIds: string[]): Promise<void> {
    if (!callIds.length) return;
    await this.queue.add(
      JobName.SecureDeleteBatch,
      { callIds },
      { jobId: jobId.secureDeleteBatch(callIds), attempts: 1, removeOnComplete: true, removeOnFail: true },
    );
  }

  /** Deletes at Twilio what a destroyed batch left there; retried with backoff, and queued again by the reconciler if lost. */
  async addTwilioCleanup(cleanupId: string): Promise<void> {
    await this.queue.add(
      JobName.TwilioCleanup,
      { cleanupId },
      {
        jobId: jobId.twilioCleanup(cleanupId),
        priority: TWILIO_CLEANUP_PRIORITY,
        // Quick retries (about 8 s in all); after that the reconciler queues it again each run.
        attempts: 5,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  /** A scan now, besides the scheduled ones (benchmarks, tools). */
  async scanNow(): Promise<void> {
    await this.queue.add(JobName.RetentionScan, {}, { removeOnComplete: true, removeOnFail: true });
  }

  /** Creates the schedulers that are missing (all of them on a fresh or flushed Redis), or all of them when forced. */
  async ensureSchedulers(everyMs: number, force = false): Promise<void> {
    for (const [id, name] of [
      [schedulerId.retentionScan, JobName.RetentionScan],
      [schedulerId.retentionReconcile, JobName.Reconcile],
    ] as const) {
      if (!force && (await this.queue.getJobScheduler(id))) continue;
      await this.queue.upsertJobScheduler(
        id,
        { every: everyMs },
        { name, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: true } },
      );
    }
  }
}
