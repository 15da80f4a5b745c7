import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { AuditService } from '@hotline/audit';
import { ENV, Env, RetentionConfig, durationMs } from '@hotline/config';
import { BULL_PREFIX, JobName, QueueName } from '@hotline/jobs';
import { redisOptionsFromUrl } from '@hotline/observability';
import { RETENTION_CONFIG, retentionMetrics } from '@hotline/retention';
import { ReconcileProcessor } from './reconcile.processor';
import { RetentionScanProcessor } from './retention-scan.processor';
import { RetentionQueue, SecureDeleteJobData } from './retention.queue';
import { SecureDeleteProcessor } from './secure-delete.processor';

/**
 * A job whose worker died is handed to another after this long without a lock renewal. Short,
 * because every step is safe to repeat: a job run twice by a slow worker costs nothing.
 */
const LOCK_MS = 5_000;

/**
 * Runs the retention queue: scans, secure deletions and reconciliation. Logs name and id of each
 * job at start and end (never its content); the last failed attempt of a job is audited and counted.
 */
@Injectable()
export class RetentionWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionWorker.name);
  private worker?: Worker;
  private watchdog?: NodeJS.Timeout;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly queue: RetentionQueue,
    private readonly scan: RetentionScanProcessor,
    private readonly secureDelete: SecureDeleteProcessor,
    private readonly reconcile: ReconcileProcessor,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Not awaited: with Redis away the app still starts (and /health says so); this completes, or
    // the watchdog below does, once Redis is back.
    void this.queue.ensureSchedulers(true).catch((e) => this.logger.warn({ msg: 'schedulers not set up yet', error: e.name }));
    this.worker = new Worker(QueueName.Retention, (job) => this.run(job), {
      connection: redisOptionsFromUrl(this.env.REDIS_URL),
      prefix: BULL_PREFIX,
      concurrency: this.cfg.concurrency,
      lockDuration: LOCK_MS,
      stalledInterval: LOCK_MS / 2,
      maxStalledCount: 3,
    });
    this.worker.on('error', (e) => this.logger.warn({ msg: 'retention worker error', error: e.name, detail: e.message.slice(0, 200) }));
    // If Redis loses its data (flush, failover without persistence), the schedulers go with it:
    // put them back, and the next scan finds in MySQL whatever work was lost.
    this.watchdog = setInterval(() => this.queue.ensureSchedulers().catch((e) => this.logger.warn({ msg: 'scheduler check failed', error: e.name })), Math.min(durationMs(this.cfg.scanEvery), 60_000));
    this.watchdog.unref();
  }

  /** Workers close before the queue: a job finishing now may still add to it. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.watchdog);
    await this.worker?.close();
    await this.queue.close();
  }

  private async run(job: Job): Promise<unknown> {
    this.logger.log({ msg: 'job started', ...jobFields(job), attempt: job.attemptsMade + 1 });
    try {
      let result: unknown;
      switch (job.name) {
        case JobName.RetentionScan:
          result = await this.scan.process();
          break;
        case JobName.SecureDelete:
          result = await this.secureDelete.process(job.data as SecureDeleteJobData);
          break;
        case JobName.Reconcile:
          result = await this.reconcile.process();
          break;
        default:
          throw new Error(`unknown job ${job.name} on the retention queue`);
      }
      this.logger.log({ msg: 'job done', ...jobFields(job), ...summary(result) });
      return result;
    } catch (e) {
      await this.failed(job, e as Error);
      throw e;
    }
  }

  /** Each failed attempt is logged; only the last is audited and counted (the call stays for the next scan). */
  private async failed(job: Job, e: Error): Promise<void> {
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const why = [e.name, (e as any).code, (e as any).status].filter(Boolean).join(' ');
    // Fields, not interpolation: the log scrubber would take the digits of ids and codes for a phone number.
    const fields = { ...jobFields(job), attempt, attempts, error: e.name, errorCode: (e as any).code, errorStatus: (e as any).status };
    if (attempt < attempts) {
      this.logger.warn({ msg: 'job attempt failed; retrying', ...fields });
      return;
    }
    this.logger.error({ msg: 'job failed on its last attempt', ...fields });
    const isDelete = job.name === JobName.SecureDelete;
    if (isDelete) retentionMetrics.failures().inc();
    else retentionMetrics.jobFailures().inc({ job: job.name });
    try {
      await this.audit.append({
        actorId: null,
        actorRole: 'system',
        action: isDelete ? 'call.destroy_failed' : 'retention.job_failed',
        targetType: isDelete ? 'call' : 'job',
        targetId: isDelete ? (job.data as SecureDeleteJobData).callId : job.name,
        detail: { job: job.name, jobId: job.id, attempts, error: why },
      });
    } catch (auditError) {
      this.logger.error({ msg: 'job failure could not be audited', ...jobFields(job), error: (auditError as Error).name });
    }
  }
}

/** Name and id of a job, and the call it is about: ids only, never content. */
function jobFields(job: Job): Record<string, unknown> {
  return { job: job.name, jobId: job.id, ...(job.name === JobName.SecureDelete ? { callId: (job.data as SecureDeleteJobData).callId } : {}) };
}

/** Outcomes and counts of a result: ids and numbers, never content. */
function summary(result: unknown): Record<string, unknown> {
  if (!result || typeof result !== 'object') return {};
  return Object.fromEntries(Object.entries(result as Record<string, unknown>).filter(([, v]) => typeof v === 'number' || typeof v === 'string'));
}
