import { Inject, Injectable } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { ENV, Env } from '@hotline/config';
import { JobProducer } from '../job-producer';
import { jobId } from '../job-id';
import { DeleteCallJobData, JobName, QueueName } from '../jobs';
import { JobsRedis } from '../jobs-redis';
import { twilioDeleteRetryMs } from '../not-yet';

/** Twilio failing (5xx, timeouts): six tries, 2 s doubling. Its refusal to delete a call yet (20009) is spaced apart from these (NotYet). */
const OPTIONS: JobsOptions = { attempts: 6, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: true, removeOnFail: true };

/**
 * The `twilio-calls` queue: calls that have just ended, deleted at Twilio (with the legs they opened)
 * by the worker once Twilio allows it. A callback's outbound call is the case: its record at Twilio
 * holds the number it dialled, and Twilio refuses (20009) to delete it until it has been over for a
 * while, so the gateway's status webhook queues it here instead of deleting it. The payload is the
 * CallSid only, never a number. The first try waits `TWILIO_DELETE_RETRY_MS` (Twilio's window), so
 * it is rarely refused; a refusal puts the job back with backoff (NotYet), not a failure.
 *
 * Provided by JobsModule to every module of an app with job queues (the gateway's overflow service
 * queues here). The queue is opened on first use.
 */
@Injectable()
export class TwilioCallJobs extends JobProducer {
  private queue?: Queue;
  /** The wait before the first try (`TWILIO_DELETE_RETRY_MS`). */
  readonly firstTryAfterMs: number;

  constructor(redis: JobsRedis, @Inject(ENV) env: Env) {
    super(redis);
    this.firstTryAfterMs = twilioDeleteRetryMs(env);
  }

  /** Queues the deletion of a call at Twilio; `false` when Redis did not take it (the gateway fails fast). */
  deleteCall(callSid: string, delayMs = this.firstTryAfterMs): Promise<boolean> {
    const data: DeleteCallJobData = { callSid };
    this.queue ??= this.open(QueueName.TwilioCalls);
    return this.add(this.queue, { name: JobName.DeleteCall, data, opts: { ...OPTIONS, jobId: jobId.deleteCall(callSid), delay: delayMs } });
  }
}
