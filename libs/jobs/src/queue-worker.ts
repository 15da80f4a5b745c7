import { Logger, OnModuleDestroy } from '@nestjs/common';
import { DelayedError, Job, Worker, WorkerOptions } from 'bullmq';
import { jobMetrics } from './job-metrics';
import { BULL_PREFIX, JobName, NotYetCounted, QueueName } from './jobs';
import { JobsRedis } from './jobs-redis';
import { NotYet, NotYetPolicy, notYetDelayMs } from './not-yet';

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
 *   an audit entry or a metric of the subclass's own;
 * - puts back, delayed, a job whose handler throws `NotYet` (work that can only be done later, such
 *   as deleting a call Twilio still refuses to delete, 20009), on a queue started with a
 *   `NotYetPolicy`: not an attempt spent, not a failure; once the policy's rounds are spent it fails
 *   as any other job does.
 * Workers close on module destroy, before the producers' queues (application shutdown): a job
 * finishing as the app stops may still add to a queue.
 */
export abstract class QueueWorker implements OnModuleDestroy {
  protected readonly logger = new Logger(this.constructor.name);
  /** The running BullMQ workers by queue (a test may pause one to hold jobs back). */
  readonly workers = new Map<QueueName, Worker>();
  private table?: JobHandlers;
  private readonly notYetPolicies = new Map<QueueName, NotYetPolicy>();

  protected constructor(private readonly jobsRedis: JobsRedis) {}

  /** What each job name on this worker's queues does. */
  protected abstract handlers(): JobHandlers;

  /** After the last attempt of a job failed (already logged and counted): audit it, count it in a domain metric. */
  protected async lastAttemptFailed(_job: Job, _error: Error): Promise<void> {}

  /** Ids only, never content: name and id of a job, and what a subclass adds (the call it is about). */
  protected jobFields(job: Job): Record<string, unknown> {
    return { job: job.name, jobId: job.id };
  }

  /** Starts the queue's BullMQ worker; with `notYet`, how a job that throws `NotYet` is spaced. */
  protected start(queue: QueueName, options: QueueWorkerOptions, notYet?: NotYetPolicy): Worker {
    if (notYet) this.notYetPolicies.set(queue, notYet);
    const worker = new Worker(queue, (job, token) => this.run(queue, job, token), {
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

  private async run(queue: QueueName, job: Job, token?: string): Promise<unknown> {
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
      if (e instanceof NotYet && token && (await this.putBack(queue, job, token, e))) {
        stop({ outcome: 'not_yet' });
        // BullMQ leaves a job it was told is delayed where it is: no attempt spent, no failure.
        throw new DelayedError();
      }
      // A NotYet past its rounds is the failure it stands for.
      const failure = (e instanceof NotYet && e.cause instanceof Error ? e.cause : e) as Error;
      stop({ outcome: 'failed' });
      await this.failed(queue, job, failure);
      throw failure;
    }
  }

  /** A job whose work cannot be done yet, delayed by its queue's policy; false when its rounds are spent (or it could not be). */
  private async putBack(queue: QueueName, job: Job, token: string, e: NotYet): Promise<boolean> {
    const policy = this.notYetPolicies.get(queue);
    const round = Number((job.data as NotYetCounted | undefined)?.notYetRounds ?? 0);
    if (!policy || round >= policy.rounds) return false;
    const delayMs = notYetDelayMs(policy, round);
    try {
      await job.updateData({ ...job.data, notYetRounds: round + 1 });
      await job.moveToDelayed(Date.now() + delayMs, token);
    } catch (err) {
      this.logger.warn({
        msg: 'job could not be put back; failing this attempt instead',
        ...this.jobFields(job),
        error: (err as Error).name,
      });
      return false;
    }
    jobMetrics.notYet().inc({ queue, job: job.name });
    this.logger.log({ msg: 'job put back: not yet', ...this.jobFields(job), round: round + 1, delayMs, why: e.message });
    return true;
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
