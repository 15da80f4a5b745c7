import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { AuditService } from '@hotline/audit';
import { ENV, Env, RetentionConfig, durationMs } from '@hotline/config';
import {
  JobHandlers,
  JobName,
  JobsRedis,
  NotYetPolicy,
  QueueName,
  QueueWorker,
  RetentionJobs,
  SecureDeleteBatchJobData,
  SecureDeleteJobData,
  TwilioCleanupJobData,
  twilioDeletePolicy,
} from '@hotline/jobs';
import { RETENTION_CONFIG, retentionMetrics } from '@hotline/retention';
import { ReconcileProcessor } from './reconcile.processor';
import { RetentionScanProcessor } from './retention-scan.processor';
import { SecureDeleteProcessor } from './secure-delete.processor';

/**
 * A job whose worker died is handed to another after this long without a lock renewal. Short,
 * because every step is safe to repeat: a job run twice by a slow worker costs nothing.
 */
const LOCK_MS = 5_000;

/**
 * Runs the retention queue: scans, secure deletions and reconciliation, and keeps its schedulers
 * in place. The last failed attempt of a job is audited and counted (the call stays for the next scan).
 * A Twilio cleanup that Twilio will not finish yet (a call just ended: 20009) waits and comes back
 * (`TWILIO_DELETE_RETRY_MS`, doubling): not an attempt spent, not a failure.
 */
@Injectable()
export class RetentionWorker extends QueueWorker implements OnApplicationBootstrap {
  private watchdog?: NodeJS.Timeout;
  private readonly notYet: NotYetPolicy;

  constructor(
    redis: JobsRedis,
    @Inject(ENV) env: Env,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly queue: RetentionJobs,
    private readonly scan: RetentionScanProcessor,
    private readonly secureDelete: SecureDeleteProcessor,
    private readonly reconcile: ReconcileProcessor,
    private readonly audit: AuditService,
  ) {
    super(redis);
    this.notYet = twilioDeletePolicy(env);
  }

  protected handlers(): JobHandlers {
    return {
      [JobName.RetentionScan]: () => this.scan.process(),
      [JobName.SecureDelete]: (job) => this.secureDelete.process(job.data as SecureDeleteJobData),
      [JobName.SecureDeleteBatch]: (job) => this.secureDelete.processBatch(job.data as SecureDeleteBatchJobData),
      [JobName.TwilioCleanup]: (job) => this.secureDelete.cleanUpAtTwilio(job.data as TwilioCleanupJobData),
      [JobName.Reconcile]: () => this.reconcile.process(),
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    const every = durationMs(this.cfg.scanEvery);
    // Not awaited: with Redis away the app still starts (and /health says so); this completes, or
    // the watchdog below does, once Redis is back.
    void this.queue.ensureSchedulers(every, true).catch((e) => this.logger.warn({ msg: 'schedulers not set up yet', error: e.name }));
    this.start(
      QueueName.Retention,
      { concurrency: this.cfg.concurrency, lockDuration: LOCK_MS, stalledInterval: LOCK_MS / 2, maxStalledCount: 3 },
      this.notYet,
    );
    // If Redis loses its data (flush, failover without persistence), the schedulers go with it:
    // put them back, and the next scan finds in MySQL whatever work was lost.
    this.watchdog = setInterval(
      () => this.queue.ensureSchedulers(every).catch((e) => this.logger.warn({ msg: 'scheduler check failed', error: e.name })),
      Math.min(every, 60_000),
    );
    this.watchdog.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.watchdog);
    await super.onModuleDestroy();
  }

  /** The call a secure-delete job is about: its id, nothing else. */
  protected jobFields(job: Job): Record<string, unknown> {
    if (job.name === JobName.SecureDelete) return { ...super.jobFields(job), callId: (job.data as SecureDeleteJobData).callId };
    if (job.name === JobName.SecureDeleteBatch)
      return { ...super.jobFields(job), calls: (job.data as SecureDeleteBatchJobData).callIds.length };
    if (job.name === JobName.TwilioCleanup) return { ...super.jobFields(job), cleanupId: (job.data as TwilioCleanupJobData).cleanupId };
    return super.jobFields(job);
  }

  protected async lastAttemptFailed(job: Job, e: Error): Promise<void> {
    const isDelete = job.name === JobName.SecureDelete;
    const isCleanup = job.name === JobName.TwilioCleanup;
    if (isDelete) retentionMetrics.failures().inc();
    else retentionMetrics.jobFailures().inc({ job: job.name });
    await this.audit.append({
      actorId: null,
      actorRole: 'system',
      // A cleanup that keeps failing stays queued (sealed); the reconciler queues it again.
      action: isDelete ? 'call.destroy_failed' : isCleanup ? 'twilio_cleanup.failed' : 'retention.job_failed',
      targetType: isDelete ? 'call' : isCleanup ? 'twilio_cleanup' : 'job',
      targetId: isDelete ? (job.data as SecureDeleteJobData).callId : isCleanup ? (job.data as TwilioCleanupJobData).cleanupId : job.name,
      detail: {
        job: job.name,
        jobId: job.id,
        attempts: job.opts.attempts ?? 1,
        error: [e.name, (e as any).code, (e as any).status].filter(Boolean).join(' '),
      },
    });
  }
}
