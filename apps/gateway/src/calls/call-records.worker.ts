import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { JobHandlers, JobName, JobsRedis, QueueName, QueueWorker, callRecordsBackoff } from '@hotline/jobs';
import { CallRecordsService } from './call-records.service';

/**
 * Replays the call-record writes MySQL did not take in time (queued by CallRecordsService), in
 * every gateway, retrying each on its own backoff until MySQL is back.
 */
@Injectable()
export class CallRecordsWorker extends QueueWorker implements OnApplicationBootstrap {
  constructor(
    redis: JobsRedis,
    private readonly records: CallRecordsService,
  ) {
    super(redis);
  }

  protected handlers(): JobHandlers {
    return {
      [JobName.OpenCall]: (job) => this.records.process(job),
      [JobName.CallEvent]: (job) => this.records.process(job),
    };
  }

  onApplicationBootstrap(): void {
    this.start(QueueName.CallRecords, {
      concurrency: 4,
      settings: { backoffStrategy: (attemptsMade: number) => callRecordsBackoff(attemptsMade) },
    });
  }
}
