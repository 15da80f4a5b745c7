import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { AuditService } from '@hotline/audit';
import { ENV, Env, RetentionConfig, durationMs } from '@hotline/config';
import { BULL_PREFIX, JobName, QueueName } from '@hotline/jobs';
import { counter, redisOptionsFromUrl } from '@hotline/observability';
import { DeleteRecordingsJobData, DeleteSmsJobData, DeletionRequestJobData } from '@hotline/privacy';
import { RETENTION_CONFIG } from '@hotline/retention';
import { DeleteRecordingsProcessor } from './delete-recordings.processor';
import { DeleteSmsProcessor } from './delete-sms.processor';
import { DeletionRequestProcessor } from './deletion-request.processor';
import { PrivacyReconciler } from './privacy-reconciler';
import { PRIVACY_QUEUES, PrivacyQueueName, PrivacyQueues } from './privacy.queues';

const failures = counter('hotline_privacy_job_failures_total', 'Privacy jobs that failed on their last attempt', ['job']);

const CONCURRENCY: Record<PrivacyQueueName, number> = { [QueueName.DeletionRequests]: 2, [QueueName.Twilio]: 4, [QueueName.Sms]: 4 };

/**
 * Runs the privacy queues: deletion requests made by phone, recordings deleted after consent is
 * withdrawn, SMS deleted at Twilio. Logs name and id of each job (never its content); the last
 * failed attempt is audited and counted. The reconciler runs at start and then every scan interval
 * (at most a minute).
 */
@Injectable()
export class PrivacyWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PrivacyWorker.name);
  readonly workers = new Map<PrivacyQueueName, Worker>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly queues: PrivacyQueues,
    private readonly reconciler: PrivacyReconciler,
    private readonly deletionRequests: DeletionRequestProcessor,
    private readonly recordings: DeleteRecordingsProcessor,
    private readonly sms: DeleteSmsProcessor,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Before any worker runs: the gateway needs the key to seal numbers for closing SMS.
    await this.reconciler.publishContactKey();
    for (const name of PRIVACY_QUEUES) {
      const w = new Worker(name, (job) => this.run(job), { connection: redisOptionsFromUrl(this.env.REDIS_URL), prefix: BULL_PREFIX, concurrency: CONCURRENCY[name] });
      w.on('error', (e) => this.logger.warn({ msg: 'privacy worker error', queue: name, error: e.name }));
      this.workers.set(name, w);
    }
    const reconcile = () => this.reconciler.run().catch((e) => this.logger.warn({ msg: 'privacy reconciliation failed', error: (e as Error).name }));
    void reconcile();
    this.timer = setInterval(reconcile, Math.min(durationMs(this.cfg.scanEvery), 60_000));
    this.timer.unref();
  }

  /** Workers close before the queues: a job finishing now may still add to them. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.workers.values()].map((w) => w.close()));
    await this.queues.close();
  }

  private async run(job: Job): Promise<unknown> {
    this.logger.log({ msg: 'job started', job: job.name, jobId: job.id, attempt: job.attemptsMade + 1 });
    try {
      let result: unknown;
      switch (job.name) {
        case JobName.DeletionRequest:
          result = await this.deletionRequests.process((job.data as DeletionRequestJobData).requestId);
          break;
        case JobName.DeleteRecordings:
          result = await this.recordings.process((job.data as DeleteRecordingsJobData).callIds ?? []);
          break;
        case JobName.DeleteSms:
          result = await this.sms.process((job.data as DeleteSmsJobData).messageSid);
          break;
        default:
          throw new Error(`unknown job ${job.name} on a privacy queue`);
      }
      this.logger.log({ msg: 'job done', job: job.name, jobId: job.id, ...flat(result) });
      return result;
    } catch (e) {
      await this.failed(job, e as Error);
      throw e;
    }
  }

  private async failed(job: Job, e: Error): Promise<void> {
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const fields = { job: job.name, jobId: job.id, attempt, attempts, error: e.name, errorStatus: (e as { status?: number }).status };
    if (attempt < attempts) return void this.logger.warn({ msg: 'job attempt failed; retrying', ...fields });
    this.logger.error({ msg: 'job failed on its last attempt; the reconciler queues it again', ...fields });
    failures.inc({ job: job.name });
    await this.audit
      .append({ actorId: null, actorRole: 'system', action: 'privacy.job_failed', targetType: 'job', targetId: String(job.id).slice(0, 64), detail: { job: job.name, attempts, error: e.name } })
      .catch((err) => this.logger.error({ msg: 'job failure could not be audited', job: job.name, jobId: job.id, error: (err as Error).name }));
  }
}

/** Outcomes and counts only. */
function flat(result: unknown): Record<string, unknown> {
  if (!result || typeof result !== 'object') return {};
  return Object.fromEntries(Object.entries(result as Record<string, unknown>).filter(([, v]) => typeof v === 'number' || typeof v === 'string'));
}
