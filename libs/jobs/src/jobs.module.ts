import { DynamicModule, Global, Module } from '@nestjs/common';
import { ENV, Env } from '@hotline/config';
import { JobsRedis, WhenRedisIsAway } from './jobs-redis';
import { TwilioCallJobs } from './producers/twilio-call.jobs';

/**
 * Jobs in this app: provides `JobsRedis` to every module. Producers (`RetentionJobs`,
 * `PrivacyJobs`, `CallRecordJobs`) and workers (subclasses of `QueueWorker`) are listed by the
 * feature modules that use them, so an app opens only the queues it needs. One producer is the
 * app's for every module: `TwilioCallJobs` (a call just ended is deleted at Twilio by a job); its
 * queue opens on first use.
 */
@Global()
@Module({})
export class JobsModule {
  static forRoot(whenRedisIsAway: WhenRedisIsAway): DynamicModule {
    return {
      module: JobsModule,
      providers: [
        { provide: JobsRedis, inject: [ENV], useFactory: (env: Env) => new JobsRedis(env.REDIS_URL, whenRedisIsAway) },
        TwilioCallJobs,
      ],
      exports: [JobsRedis, TwilioCallJobs],
    };
  }
}
