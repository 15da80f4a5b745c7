import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { DataSource } from 'typeorm';
import { CallEventPayload, CallLifecycle, CallRowMissing, OpenCallPayload } from '@hotline/calls';
import { ENV, Env, RetentionConfig, loadRetentionConfig } from '@hotline/config';
import { BULL_PREFIX, JobName, QueueName } from '@hotline/jobs';
import { counter, redisOptionsFromUrl, withTimeout } from '@hotline/observability';
import { RecordsDb } from '../records-db';

const DIRECT_WRITE_MS = 1500;
const QUEUE_ADD_MS = 2000;
const ATTEMPTS = 200;

const writes = counter('hotline_gateway_record_writes_total', 'Call record writes from the gateway, by path (direct, queued, lost)', ['kind', 'path']);

/** Retry delay: 0.5 s doubling to 30 s, so a write lands soon after MySQL is back. */
export function recordsBackoff(attemptsMade: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
}

/**
 * The gateway's writes to the records database. Each is tried at once; when MySQL does not answer
 * in time it becomes a BullMQ job on `call-records`, processed by a worker inside every gateway
 * with retries and backoff, so the call is on record once MySQL returns. The caller never waits
 * on MySQL longer than DIRECT_WRITE_MS.
 */
@Injectable()
export class CallRecordsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CallRecordsService.name);
  readonly retention: RetentionConfig;
  private readonly queue: Queue;
  private worker?: Worker;

  constructor(@Inject(ENV) private readonly env: Env, private readonly db: RecordsDb) {
    this.retention = loadRetentionConfig(env.RETENTION_CONFIG);
    // No offline queue: while Redis is away, add() fails at once instead of hanging a webhook.
    this.queue = new Queue(QueueName.CallRecords, { connection: { ...redisOptionsFromUrl(env.REDIS_URL), enableOfflineQueue: false, maxRetriesPerRequest: 1 }, prefix: BULL_PREFIX });
    this.queue.on('error', (e) => this.logger.warn(`call-records queue: ${e.message}`));
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker(QueueName.CallRecords, (job) => this.process(job), {
      connection: redisOptionsFromUrl(this.env.REDIS_URL),
      prefix: BULL_PREFIX,
      concurrency: 4,
      settings: { backoffStrategy: (attemptsMade: number) => recordsBackoff(attemptsMade) },
    });
    this.worker.on('error', (e) => this.logger.warn(`call-records worker: ${e.message}`));
    this.worker.on('failed', (job, e) => {
      if (job && job.attemptsMade >= ATTEMPTS) this.logger.error(`job ${job.name} ${job.id} failed for good: ${e.name}`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // Workers first: a job in flight may still enqueue.
    await this.worker?.close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
  }

  /** Opens the call in MySQL (idempotent on CallSid), or queues the write. */
  async open(p: OpenCallPayload): Promise<'written' | 'queued' | 'lost'> {
    // Not jobId.openCall: BullMQ 5 refuses a custom id with one ':' ("Custom Id cannot contain :").
    return this.write(JobName.OpenCall, `open-call-${p.callId}`, p, (ds) => this.lifecycle(ds).open(p));
  }

  async event(e: CallEventPayload): Promise<'written' | 'queued' | 'lost'> {
    const ref = 'callId' in e && e.callId ? e.callId : (e as { callSid: string }).callSid;
    const id = [`call-event-${e.kind}`, ref, e.kind === 'connected' ? e.operatorId : e.kind === 'recording' ? e.recordingSid : ''].filter(Boolean).join('_');
    return this.write(JobName.CallEvent, id, e, (ds) => this.lifecycle(ds).apply(e));
  }

  /** libs/calls writes the record, over the data source as RecordsDb has it connected now. */
  private lifecycle(ds: DataSource): CallLifecycle {
    return new CallLifecycle(ds, this.retention);
  }

  private async write(name: JobName, id: string, data: unknown, direct: (ds: DataSource) => Promise<void>): Promise<'written' | 'queued' | 'lost'> {
    try {
      await withTimeout(
        this.db.get().then((ds) => direct(ds)),
        DIRECT_WRITE_MS,
      );
      writes.inc({ kind: name, path: 'direct' });
      return 'written';
    } catch (e) {
      if (!(e instanceof CallRowMissing)) this.logger.warn(`${name} ${id}: records database did not take the write (${(e as Error).message.slice(0, 120)}); queueing it`);
    }
    try {
      await withTimeout(
        this.queue.add(name, data, {
          jobId: id,
          attempts: ATTEMPTS,
          backoff: { type: 'custom' },
          removeOnComplete: true,
          removeOnFail: 1000,
        }),
        QUEUE_ADD_MS,
      );
      writes.inc({ kind: name, path: 'queued' });
      return 'queued';
    } catch (e) {
      writes.inc({ kind: name, path: 'lost' });
      this.logger.error(`${name} ${id}: neither MySQL nor Redis took the write (${(e as Error).message.slice(0, 120)})`);
      return 'lost';
    }
  }

  private async process(job: Job): Promise<void> {
    const ds = await this.db.get();
    if (job.name === JobName.OpenCall) await this.lifecycle(ds).open(job.data as OpenCallPayload);
    else if (job.name === JobName.CallEvent) await this.lifecycle(ds).apply(job.data as CallEventPayload);
    else throw new Error(`unknown job ${job.name}`);
    if (job.attemptsMade > 0) this.logger.log(`job ${job.name} ${job.id} written after ${job.attemptsMade} retries`);
  }
}
