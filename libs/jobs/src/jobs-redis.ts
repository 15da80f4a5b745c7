import type { ConnectionOptions } from 'bullmq';
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
