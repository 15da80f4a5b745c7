import { Inject, Injectable } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { ENV, Env } from '@hotline/config';
import { JobProducer } from '../job-producer';
import { jobId } from '../job-id';
import { DeleteRecordingsJobData, DeleteSmsJobData, DeletionRequestJobData, JobName, QueueName } from '../jobs';
import { JobsRedis } from '../jobs-redis';

const retried = (attempts: number, delayMs: number): JobsOptions => ({
  attempts,
  backoff: { type: 'exponential', delay: delayMs },
  removeOnComplete: true,
  removeOnFail: true,
});

/**
 * The privacy line's queues: deletion requests made by phone (`deletion-requests`), recordings
 * deleted at Twilio after consent is withdrawn (`twilio`), SMS deleted at Twilio (`sms`). One
 * producer for the three: the gateway's privacy line and the worker's privacy reconciler each
 * queue all of them. Payloads are ids only: never a number, a code or a pseudonym.
 *
 * MySQL, not Redis, says what the privacy line owes: in the gateway (which fails fast) a job
 * Redis does not take is logged and left to the worker's privacy reconciler, which queues it
 * from MySQL, so the caller's request stands.
 */
@Injectable()
export class PrivacyJobs extends JobProducer {
  private readonly deletionRequests: Queue;
  private readonly twilio: Queue;
  private readonly sms: Queue;
  /** How long after sending an SMS its fallback deletion at Twilio runs (`SMS_DELETE_AFTER_SECONDS`). */
  readonly smsDelayMs: number;

  constructor(redis: JobsRedis, @Inject(ENV) env: Env) {
    super(redis);
    this.deletionRequests = this.open(QueueName.DeletionRequests);
    this.twilio = this.open(QueueName.Twilio);
    this.sms = this.open(QueueName.Sms);
    this.smsDelayMs = env.SMS_DELETE_AFTER_SECONDS * 1000;
  }

  /** Carried out after the grace period; cancellable until it starts. */
  deletionRequest(requestId: string, executeAfter: Date): Promise<boolean> {
    const data: DeletionRequestJobData = { requestId };
    return this.add(this.deletionRequests, {
      name: JobName.DeletionRequest,
      data,
      opts: { ...retried(5, 2000), jobId: jobId.deletionRequest(requestId), delay: Math.max(0, executeAfter.getTime() - Date.now()) },
    });
  }

  /** Removes the delayed job of a cancelled request (a job already running finds it cancelled and stops). */
  async cancelDeletionRequest(requestId: string): Promise<void> {
    await this.attempt('delayed deletion job not removed; the worker will find the request cancelled', { requestId }, async () => {
      const job = await this.deletionRequests.getJob(jobId.deletionRequest(requestId));
      await job?.remove();
    });
  }

  /** One job per call: the recordings of each call whose caller withdrew consent to recording. */
  async deleteRecordings(callIds: string | readonly string[]): Promise<void> {
    const ids = typeof callIds === 'string' ? [callIds] : callIds;
    await Promise.all(
      ids.map((callId) => {
        const data: DeleteRecordingsJobData = { callIds: [callId] };
        return this.add(this.twilio, {
          name: JobName.DeleteRecordings,
          data,
          opts: { ...retried(6, 2000), jobId: jobId.deleteRecordings(callId) },
        });
      }),
    );
  }

  /** The fallback deletion at Twilio of an SMS whose final status callback never came (or whose deletion then failed). */
  deleteSms(messageSid: string, delayMs = this.smsDelayMs): Promise<boolean> {
    const data: DeleteSmsJobData = { messageSid };
    return this.add(this.sms, {
      name: JobName.DeleteSms,
      data,
      opts: { ...retried(6, 30_000), jobId: jobId.deleteSms(messageSid), delay: delayMs },
    });
  }
}
