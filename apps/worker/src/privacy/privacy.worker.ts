import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { AuditService } from '@hotline/audit';
import { ENV, Env, RetentionConfig, durationMs } from '@hotline/config';
import {
  DeleteCallJobData,
  DeleteRecordingsJobData,
  DeleteSmsJobData,
  DeletionRequestJobData,
  JobHandlers,
  JobName,
  JobsRedis,
  NotYetPolicy,
  QueueName,
  QueueWorker,
  twilioDeletePolicy,
} from '@hotline/jobs';
import { counter } from '@hotline/observability';
import { RETENTION_CONFIG } from '@hotline/retention';
import { DeleteCallProcessor } from './delete-call.processor';
import { DeleteRecordingsProcessor } from './delete-recordings.processor';
import { DeleteSmsProcessor } from './delete-sms.processor';
import { DeletionRequestProcessor } from './deletion-request.processor';
import { PrivacyReconciler } from './privacy-reconciler';

const failures = counter('hotline_privacy_job_failures_total', 'Privacy jobs that failed on their last attempt', ['job']);

/** Deletion requests touch every call of a caller: two at once; the Twilio calls are light. */
const CONCURRENCY = { [QueueName.DeletionRequests]: 2, [QueueName.Twilio]: 4, [QueueName.Sms]: 4, [QueueName.TwilioCalls]: 4 } as const;

/** The queues whose jobs delete calls at Twilio, which refuses (20009) until a call has been over for a while: their jobs wait (NotYet). */
const DELETE_CALLS: QueueName[] = [QueueName.DeletionRequests, QueueName.TwilioCalls];

/**
 * Runs the privacy queues: deletion requests made by phone, recordings deleted after consent is
 * withdrawn, SMS deleted at Twilio, calls just ended deleted at Twilio (a callback's outbound call and
 * its legs: `twilio-calls`). A job Twilio refuses to delete a call for yet (20009) waits and comes back
 * (`TWILIO_DELETE_RETRY_MS`, doubling): not a failure. The last failed attempt is audited and counted
 * (the reconciler queues the work again). The reconciler runs at start and then every scan interval
 * (at most a minute).
 */
@Injectable()
export class PrivacyWorker extends QueueWorker implements OnApplicationBootstrap {
  private timer?: NodeJS.Timeout;
  private readonly notYet: NotYetPolicy;

  constructor(
    redis: JobsRedis,
    @Inject(ENV) env: Env,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly reconciler: PrivacyReconciler,
    private readonly deletionRequests: DeletionRequestProcessor,
    private readonly recordings: DeleteRecordingsProcessor,
    private readonly sms: DeleteSmsProcessor,
    private readonly calls: DeleteCallProcessor,
    private readonly audit: AuditService,
  ) {
    super(redis);
    this.notYet = twilioDeletePolicy(env);
  }

  protected handlers(): JobHandlers {
    return {
      [JobName.DeletionRequest]: (job) => this.deletionRequests.process((job.data as DeletionRequestJobData).requestId),
      [JobName.DeleteRecordings]: (job) => this.recordings.process((job.data as DeleteRecordingsJobData).callIds ?? []),
      [JobName.DeleteSms]: (job) => this.sms.process((job.data as DeleteSmsJobData).messageSid),
      [JobName.DeleteCall]: (job) => this.calls.process((job.data as DeleteCallJobData).callSid),
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    // Before any worker runs: the gateway needs the key to seal numbers for closing SMS.
    await this.reconciler.publishContactKey();
    for (const [queue, concurrency] of Object.entries(CONCURRENCY))
      this.start(queue as QueueName, { concurrency }, DELETE_CALLS.includes(queue as QueueName) ? this.notYet : undefined);
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
