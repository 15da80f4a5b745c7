import { Logger, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker, WorkerOptions } from 'bullmq';
import { jobMetrics } from './job-metrics';
import { BULL_PREFIX, JobName, QueueName } from './jobs';
import { JobsRedis } from './jobs-redis';

/** What one job name does. Its result's numbers and strings are logged, so it returns counts and outcomes, never content. */
export type JobHandler = (job: Job) => Promise<unknown>;
export type JobHandlers = Partial<Record<JobName, JobHandler>>;

/** The BullMQ worker settings a queue may set (connection and prefix are the same for all). */
export type QueueWorkerOptions = Pick<WorkerOptions, 'concurrency' | 'lockDuration' | 'stalledInterval' | 'maxStalledCount' | 'settings'>;

/**
 * The base of every BullMQ worker in the project. A subclass says what each of its job names
 * does (`handlers`) and starts its queues when it is ready (`start`); this runs every job the
 * same way:
 * - logs name, id and attempt when a job starts and name, id and the result's counts when it
 *   ends: ids and numbers only, never a payload (a subclass may add the record a job is about);
 * - counts completed and failed jobs and times them, by queue and job name;
 * - logs each failed attempt, and hands the last one (no retry left) to `lastAttemptFailed` for
 *   an audit entry or a metric of the subclass's own.
 * Workers close on module destroy, before the producers' queues (application shutdown): a job
 * finishing as the app stops may still add to a queue.
 */
export abstract class QueueWorker implements OnModuleDestroy {
  protected readonly logger = new Logger(this.constructor.name);
  /** The running BullMQ workers by queue (a test may pause one to hold jobs back). */
  readonly workers = new Map<QueueName, Worker>();
  private table?: JobHandlers;

  protected constructor(private readonly jobsRedis: JobsRedis) {}

  /** What each job name on this worker's queues does. */
  protected abstract handlers(): JobHandlers;

  /** After the last attempt of a job failed (already logged and counted): audit it, count it in a domain metric. */
  protected async lastAttemptFailed(_job: Job, _error: Error): Promise<void> {}

  /** Ids only, never content: name and id of a job, and what a subclass adds (the call it is about). */
  protected jobFields(job: Job): Record<string, unknown> {
    return { job: job.name, jobId: job.id };
  }

  protected start(queue: QueueName, options: QueueWorkerOptions): Worker {
    const worker = new Worker(queue, (job) => this.run(queue, job), {
      ...options,
      connection: this.jobsRedis.forWorker(),
      prefix: BULL_PREFIX,
    });
    // Redis going away is reported here (the worker reconnects by itself); a job's own failure is not.
    worker.on('error', (e) => this.logger.warn({ msg: 'worker error', queue, error: e.name, detail: e.message.slice(0, 200) }));
    this.workers.set(queue, worker);
    return worker;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.close()));
  }

  private async run(queue: QueueName, job: Job): Promise<unknown> {
    const labels = { queue, job: job.name };
    const stop = jobMetrics.duration().startTimer(labels);
    this.logger.log({ msg: 'job started', ...this.jobFields(job), attempt: job.attemptsMade + 1 });
    try {
      const handler = (this.table ??= this.handlers())[job.name as JobName];
      if (!handler) throw new Error(`unknown job ${job.name} on the ${queue} queue`);
      const result = await handler(job);
      stop({ outcome: 'completed' });
      jobMetrics.completed().inc(labels);
      this.logger.log({ msg: 'job done', ...this.jobFields(job), ...countsOf(result) });
      return result;
    } catch (e) {
      stop({ outcome: 'failed' });
      await this.failed(queue, job, e as Error);
      throw e;
    }
  }

  private async failed(queue: QueueName, job: Job, e: Error): Promise<void> {
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const last = attempt >= attempts;
    jobMetrics.failed().inc({ queue, job: job.name, last: String(last) });
    // Fields, not interpolation: the log scrubber would take the digits of ids and codes for a phone number.
    const fields = {
      ...this.jobFields(job),
      attempt,
      attempts,
      error: e.name,
      errorCode: (e as { code?: unknown }).code,
      errorStatus: (e as { status?: unknown }).status,
    };
    if (!last) {
      this.logger.warn({ msg: 'job attempt failed; retrying', ...fields });
      return;
    }
    this.logger.error({ msg: 'job failed on its last attempt', ...fields });
    try {
      await this.lastAttemptFailed(job, e);
    } catch (err) {
      this.logger.error({ msg: 'job failure could not be audited', ...this.jobFields(job), error: (err as Error).name });
    }
  }
}

/** Outcomes and counts of a result: numbers and strings, never an object (content). */
function countsOf(result: unknown): Record<string, unknown> {
  if (!result || typeof result !== 'object') return {};
  return Object.fromEntries(
    Object.entries(result as Record<string, unknown>).filter(([, v]) => typeof v === 'number' || typeof v === 'string'),
  );
}
