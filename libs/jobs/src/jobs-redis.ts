import { DynamicModule, Global, Module } from '@nestjs/common';
import type { ConnectionOptions } from 'bullmq';
import { ENV, Env } from '@hotline/config';
import { redisOptionsFromUrl } from '@hotline/observability';

/**
 * What a producer does while Redis is away. `fail-fast`: an app that answers Twilio's webhooks
 * (the gateway) never waits on Redis; a job Redis does not take within `FAIL_FAST_MS` is logged
 * and reported as not queued. `wait`: the worker waits for Redis to come back (BullMQ's offline
 * queue), and an error is thrown to the caller.
 */
export type WhenRedisIsAway = 'fail-fast' | 'wait';

export const FAIL_FAST_MS = 2000;

/** The Redis connection of this app's producers and workers (also the injection token). */
export class JobsRedis {
  constructor(
    readonly url: string,
    readonly whenAway: WhenRedisIsAway,
  ) {}

  get failsFast(): boolean {
    return this.whenAway === 'fail-fast';
  }

  /** For queues. Failing fast: no offline queue, so `add` fails at once instead of hanging a webhook. */
  forQueue(): ConnectionOptions {
    const options = redisOptionsFromUrl(this.url);
    return this.failsFast ? { ...options, enableOfflineQueue: false, maxRetriesPerRequest: 1 } : options;
  }

  /** For workers: BullMQ's blocking connection waits for Redis whatever the app (`maxRetriesPerRequest: null`). */
  forWorker(): ConnectionOptions {
    return redisOptionsFromUrl(this.url);
  }
}

/**
 * Jobs in this app: provides `JobsRedis` to every module. Producers (`RetentionJobs`,
 * `PrivacyJobs`, `CallRecordJobs`) and workers (subclasses of `QueueWorker`) are listed by the
 * feature modules that use them, so an app opens only the queues it needs.
 */
@Global()
@Module({})
export class JobsModule {
  static forRoot(whenRedisIsAway: WhenRedisIsAway): DynamicModule {
    return {
      module: JobsModule,
      providers: [{ provide: JobsRedis, inject: [ENV], useFactory: (env: Env) => new JobsRedis(env.REDIS_URL, whenRedisIsAway) }],
      exports: [JobsRedis],
    };
  }
}
