import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JobProducer } from '../job-producer';
import { CallEventRef, jobId } from '../job-id';
import { JobName, QueueName } from '../jobs';
import { JobsRedis } from '../jobs-redis';

/** A queued call-record write is retried for as long as MySQL may plausibly be away (hours). */
export const CALL_RECORD_ATTEMPTS = 200;

/** Retry delay of a queued call-record write: 0.5 s doubling to 30 s, so it lands soon after MySQL is back. */
export function callRecordsBackoff(attemptsMade: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
}

const OPTIONS = { attempts: CALL_RECORD_ATTEMPTS, backoff: { type: 'custom' }, removeOnComplete: true, removeOnFail: 1000 };

/**
 * The `call-records` queue: the gateway's writes to the records database that MySQL did not take
 * in time, kept in Redis and replayed by the gateway's `CallRecordsWorker` once MySQL is back.
 * `false` when Redis did not take the write either (the gateway fails fast).
 */
@Injectable()
export class CallRecordJobs extends JobProducer {
  private readonly queue: Queue;

  constructor(redis: JobsRedis) {
    super(redis);
    this.queue = this.open(QueueName.CallRecords);
  }

  openCall(p: { callId: string }): Promise<boolean> {
    return this.add(this.queue, { name: JobName.OpenCall, data: p, opts: { ...OPTIONS, jobId: jobId.openCall(p.callId) } });
  }

  callEvent(e: CallEventRef): Promise<boolean> {
    return this.add(this.queue, { name: JobName.CallEvent, data: e, opts: { ...OPTIONS, jobId: jobId.callEvent(e) } });
  }
}
