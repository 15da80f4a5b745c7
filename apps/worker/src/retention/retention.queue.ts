import { Inject, Injectable } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { ENV, Env, RetentionConfig, durationMs } from '@hotline/config';
import { BULL_PREFIX, JobName, QueueName, jobId } from '@hotline/jobs';
import { redisOptionsFromUrl } from '@hotline/observability';
import { RETENTION_CONFIG } from '@hotline/retention';
import type { DeletionReason } from '@hotline/retention';

/** Fixed ids: every worker upserts the same schedulers, so restarts and extra nodes never multiply them. */
export const SCAN_SCHEDULER_ID = 'retention-scan';
export const RECONCILE_SCHEDULER_ID = 'retention-reconcile';

export const SECURE_DELETE_ATTEMPTS = 4;

export interface SecureDeleteJobData {
  callId: string;
  reason: DeletionReason;
  deletionRequestId?: string | null;
}

/**
 * BullMQ refuses custom ids with a ':' (except its own three-part scheduler ids), which the
 * shared `jobId.secureDelete` uses; this keeps it deterministic and one-to-one.
 */
export function bullJobId(id: string): string {
  return id.replace(/:/g, '.');
}

function secureDeleteJobOptions(callId: string): JobsOptions {
  return {
    jobId: bullJobId(jobId.secureDelete(callId)),
    attempts: SECURE_DELETE_ATTEMPTS,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** The retention queue: the schedulers, and one secure-delete job per call. */
@Injectable()
export class RetentionQueue {
  readonly queue: Queue;

  constructor(@Inject(ENV) env: Env, @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig) {
    this.queue = new Queue(QueueName.Retention, { connection: redisOptionsFromUrl(env.REDIS_URL), prefix: BULL_PREFIX });
  }

  /**
   * One job per call, with the call's job id: a call already waiting, delayed or running is not
   * queued twice (BullMQ's add script returns the existing job for a known id, in a bulk add as in
   * a single one). Sent as one bulk (one round trip to Redis for a scan page). Finished jobs are
   * removed, so a call still present at the next scan (a failure) is queued again: MySQL, not
   * Redis, says what is left to do.
   */
  async addSecureDeletes(items: SecureDeleteJobData[]): Promise<void> {
    if (!items.length) return;
    await this.queue.addBulk(items.map((data) => ({ name: JobName.SecureDelete, data, opts: secureDeleteJobOptions(data.callId) })));
  }

  /** Creates the schedulers that are missing (all of them on a fresh or flushed Redis). */
  async ensureSchedulers(force = false): Promise<void> {
    const every = durationMs(this.cfg.scanEvery);
    for (const [id, name] of [
      [SCAN_SCHEDULER_ID, JobName.RetentionScan],
      [RECONCILE_SCHEDULER_ID, JobName.Reconcile],
    ] as const) {
      if (!force && (await this.queue.getJobScheduler(id))) continue;
      await this.queue.upsertJobScheduler(id, { every }, { name, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: true } });
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
