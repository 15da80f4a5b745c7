import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { AuditService } from '@hotline/audit';
import { RetentionConfig, durationMs } from '@hotline/config';
import {
  DeleteRecordingsJobData,
  DeleteSmsJobData,
  DeletionRequestJobData,
  JobHandlers,
  JobName,
  JobsRedis,
  QueueName,
  QueueWorker,
} from '@hotline/jobs';
import { counter } from '@hotline/observability';
import { RETENTION_CONFIG } from '@hotline/retention';
import { DeleteRecordingsProcessor } from './delete-recordings.processor';
import { DeleteSmsProcessor } from './delete-sms.processor';
import { DeletionRequestProcessor } from './deletion-request.processor';
import { PrivacyReconciler } from './privacy-reconciler';

const failures = counter('hotline_privacy_job_failures_total', 'Privacy jobs that failed on their last attempt', ['job']);

/** Deletion requests touch every call of a caller: two at once; the Twilio calls are light. */
const CONCURRENCY = { [QueueName.DeletionRequests]: 2, [QueueName.Twilio]: 4, [QueueName.Sms]: 4 } as const;

/**
 * Runs the privacy queues: deletion requests made by phone, recordings deleted after consent is
 * withdrawn, SMS deleted at Twilio. The last failed attempt is audited and counted (the reconciler
 * queues the work again). The reconciler runs at start and then every scan interval (at most a minute).
 */
@Injectable()
export class PrivacyWorker extends QueueWorker implements OnApplicationBootstrap {
  private timer?: NodeJS.Timeout;

  constructor(
    redis: JobsRedis,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly reconciler: PrivacyReconciler,
    private readonly deletionRequests: DeletionRequestProcessor,
    private readonly recordings: DeleteRecordingsProcessor,
    private readonly sms: DeleteSmsProcessor,
    private readonly audit: AuditService,
  ) {
    super(redis);
  }

  protected handlers(): JobHandlers {
    return {
      [JobName.DeletionRequest]: (job) => this.deletionRequests.process((job.data as DeletionRequestJobData).requestId),
      [JobName.DeleteRecordings]: (job) => this.recordings.process((job.data as DeleteRecordingsJobData).callIds ?? []),
      [JobName.DeleteSms]: (job) => this.sms.process((job.data as DeleteSmsJobData).messageSid),
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    // Before any worker runs: the gateway needs the key to seal numbers for closing SMS.
    await this.reconciler.publishContactKey();
    for (const [queue, concurrency] of Object.entries(CONCURRENCY)) this.start(queue as QueueName, { concurrency });
    const reconcile = () =>
      this.reconciler.run().catch((e) => this.logger.warn({ msg: 'privacy reconciliation failed', error: (e as Error).name }));
    void reconcile();
    this.timer = setInterval(reconcile, Math.min(durationMs(this.cfg.scanEvery), 60_000));
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await super.onModuleDestroy();
  }

  protected async lastAttemptFailed(job: Job, e: Error): Promise<void> {
    failures.inc({ job: job.name });
    await this.audit.append({
      actorId: null,
      actorRole: 'system',
      action: 'privacy.job_failed',
      targetType: 'job',
      targetId: String(job.id).slice(0, 64),
      detail: { job: job.name, attempts: job.opts.attempts ?? 1, error: e.name },
    });
  }
}
