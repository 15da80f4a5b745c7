import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { withTimeout } from '@hotline/observability';
import { BULL_PREFIX, JobName, QueueName } from './jobs';
import { FAIL_FAST_MS, JobsRedis } from './jobs-redis';

/** One bulk item: a job's name, payload and options (its deterministic id among them). */
export interface JobToAdd {
  name: JobName;
  data: object;
  opts: JobsOptions & { jobId: string };
}

/**
 * The base of every producer: the only code that opens a BullMQ queue to add jobs. Each queue
 * has one producer (a subclass), which owns the queue's job names, options and ids. Queues
 * close at application shutdown, after the workers (closed on module destroy): a job finishing
 * then may still add to a queue.
 */
export abstract class JobProducer implements OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private readonly opened: Queue[] = [];

  protected constructor(protected readonly redis: JobsRedis) {}

  protected open(name: QueueName): Queue {
    const queue = new Queue(name, { connection: this.redis.forQueue(), prefix: BULL_PREFIX });
    queue.on('error', (e) => this.logger.warn({ msg: 'queue error', queue: name, error: e.name }));
    this.opened.push(queue);
    return queue;
  }

  /** Adds one job; `false` when an app that fails fast could not (see `attempt`). */
  protected add(queue: Queue, job: JobToAdd): Promise<boolean> {
    return this.attempt('job not queued', { queue: queue.name, job: job.name, jobId: job.opts.jobId }, () =>
      queue.add(job.name, job.data, job.opts),
    );
  }

  /** Adds many jobs in one round trip to Redis. */
  protected addBulk(queue: Queue, jobs: JobToAdd[]): Promise<boolean> {
    if (!jobs.length) return Promise.resolve(true);
    return this.attempt('jobs not queued', { queue: queue.name, job: jobs[0].name, jobs: jobs.length }, () => queue.addBulk(jobs));
  }

  /**
   * One operation on Redis. Waiting (the worker): its error is thrown. Failing fast (the
   * gateway): it gets `FAIL_FAST_MS`, then is logged (ids only) and answered `false`, because
   * whoever asked must go on without it (what it asked is also in MySQL, or counted as lost).
   */
  protected async attempt(failure: string, fields: Record<string, unknown>, op: () => Promise<unknown>): Promise<boolean> {
    if (!this.redis.failsFast) {
      await op();
      return true;
    }
    try {
      await withTimeout(op(), FAIL_FAST_MS);
      return true;
    } catch (e) {
      this.logger.warn({ msg: failure, ...fields, error: (e as Error).name });
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.opened.map((q) => q.close().catch(() => undefined)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
