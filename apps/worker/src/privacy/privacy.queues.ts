import { Inject, Injectable } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { ENV, Env } from '@hotline/config';
import { BULL_PREFIX, JobName, QueueName } from '@hotline/jobs';
import { redisOptionsFromUrl } from '@hotline/observability';
import { deleteRecordingsJobOptions, deleteSmsJobOptions, deletionRequestJobOptions, smsDeleteDelayMs } from '@hotline/privacy';

export const PRIVACY_QUEUES = [QueueName.DeletionRequests, QueueName.Twilio, QueueName.Sms] as const;
export type PrivacyQueueName = (typeof PRIVACY_QUEUES)[number];

/** The privacy queues, for follow-up jobs (the closing SMS's deletion) and the reconciler. */
@Injectable()
export class PrivacyQueues {
  readonly queues: Record<PrivacyQueueName, Queue>;
  readonly smsDelayMs: number;

  constructor(@Inject(ENV) env: Env) {
    const connection = redisOptionsFromUrl(env.REDIS_URL);
    this.queues = Object.fromEntries(PRIVACY_QUEUES.map((name) => [name, new Queue(name, { connection, prefix: BULL_PREFIX })])) as Record<PrivacyQueueName, Queue>;
    this.smsDelayMs = smsDeleteDelayMs(env);
  }

  /** `add` dedupes by job id: a request already waiting, delayed or running is not queued twice. */
  deletionRequest(requestId: string, executeAfter: Date): Promise<unknown> {
    return this.add(QueueName.DeletionRequests, JobName.DeletionRequest, { requestId }, deletionRequestJobOptions(requestId, executeAfter));
  }

  deleteRecordings(callId: string): Promise<unknown> {
    return this.add(QueueName.Twilio, JobName.DeleteRecordings, { callIds: [callId] }, deleteRecordingsJobOptions(callId));
  }

  deleteSms(messageSid: string, delayMs = this.smsDelayMs): Promise<unknown> {
    return this.add(QueueName.Sms, JobName.DeleteSms, { messageSid }, deleteSmsJobOptions(messageSid, delayMs));
  }

  private add(queue: PrivacyQueueName, name: JobName, data: object, opts: JobsOptions): Promise<unknown> {
    return this.queues[queue].add(name, data, opts);
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
  }
}
