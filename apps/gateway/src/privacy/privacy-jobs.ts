import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { BULL_PREFIX, JobName, QueueName } from '@hotline/jobs';
import { redisOptionsFromUrl, withTimeout } from '@hotline/observability';
import { deleteRecordingsJobOptions, deleteSmsJobOptions, deletionRequestJobOptions, privacyJobId, smsDeleteDelayMs } from '@hotline/privacy';

const ADD_MS = 2000;

type PrivacyQueue = QueueName.DeletionRequests | QueueName.Twilio | QueueName.Sms;

/**
 * The jobs the privacy line hands to the worker. If Redis does not take one, MySQL still says what
 * is to be done and the worker's privacy reconciler queues it, so the caller's request stands.
 */
@Injectable()
export class PrivacyJobs implements OnApplicationShutdown {
  private readonly logger = new Logger(PrivacyJobs.name);
  private readonly queues: Record<PrivacyQueue, Queue>;
  private readonly smsDelayMs: number;

  constructor(@Inject(ENV) env: Env, private readonly clock: Clock) {
    // No offline queue: while Redis is away, add() fails at once instead of hanging a webhook.
    const connection = { ...redisOptionsFromUrl(env.REDIS_URL), enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    const make = (name: QueueName) => {
      const q = new Queue(name, { connection, prefix: BULL_PREFIX });
      q.on('error', (e) => this.logger.warn({ msg: 'privacy queue error', queue: name, error: e.name }));
      return q;
    };
    this.queues = { [QueueName.DeletionRequests]: make(QueueName.DeletionRequests), [QueueName.Twilio]: make(QueueName.Twilio), [QueueName.Sms]: make(QueueName.Sms) };
    this.smsDelayMs = smsDeleteDelayMs(env);
  }

  async deletionRequest(requestId: string, executeAfter: Date): Promise<boolean> {
    return this.add(QueueName.DeletionRequests, JobName.DeletionRequest, { requestId }, deletionRequestJobOptions(requestId, executeAfter, this.clock.nowMs()));
  }

  /** Removes the delayed job of a cancelled request (a job already running finds it cancelled and stops). */
  async cancelDeletionRequest(requestId: string): Promise<void> {
    try {
      const job = await withTimeout(this.queues[QueueName.DeletionRequests].getJob(privacyJobId.deletionRequest(requestId)), ADD_MS);
      await job?.remove();
    } catch (e) {
      this.logger.warn({ msg: 'delayed deletion job not removed; the worker will find the request cancelled', requestId, error: (e as Error).name });
    }
  }

  async deleteRecordings(callIds: string[]): Promise<void> {
    await Promise.all(callIds.map((callId) => this.add(QueueName.Twilio, JobName.DeleteRecordings, { callIds: [callId] }, deleteRecordingsJobOptions(callId))));
  }

  async deleteSmsLater(messageSid: string): Promise<boolean> {
    return this.add(QueueName.Sms, JobName.DeleteSms, { messageSid }, deleteSmsJobOptions(messageSid, this.smsDelayMs));
  }

  private async add(queue: PrivacyQueue, name: JobName, data: object, opts: object): Promise<boolean> {
    try {
      await withTimeout(this.queues[queue].add(name, data, opts), ADD_MS);
      return true;
    } catch (e) {
      this.logger.warn({ msg: 'privacy job not queued; the worker reconciler will queue it from MySQL', job: name, jobId: (opts as { jobId?: string }).jobId, error: (e as Error).name });
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((q) => q.close().catch(() => undefined)));
  }
}
