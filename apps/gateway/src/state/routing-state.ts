import { Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit, Provider } from '@nestjs/common';
import type Redis from 'ioredis';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { createRedis } from '@hotline/observability';
import { CallerLocations, ConferenceState, RoutingStore } from '@hotline/routing';

export const ROUTING_REDIS = Symbol('ROUTING_REDIS');

/**
 * Routing's own Redis connection. No offline queue and one retry: when Redis is away a webhook
 * gets an error at once (and still enqueues the caller at Twilio) instead of hanging.
 */
@Injectable()
export class RoutingRedisLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RoutingRedis');
  constructor(@Inject(ROUTING_REDIS) private readonly redis: Redis) {}

  async onModuleInit(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.logger.warn('Redis does not answer yet; routing starts anyway and heals when it does');
        resolve();
      }, 5000);
      this.redis.once('ready', () => (clearTimeout(t), resolve()));
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

const providers: Provider[] = [
  {
    provide: ROUTING_REDIS,
    inject: [ENV],
    useFactory: (env: Env) => {
      const r = createRedis(env.REDIS_URL, {
        connectionName: 'hotline-routing',
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: 3000,
      });
      r.on('error', () => undefined);
      return r;
    },
  },
  RoutingRedisLifecycle,
  {
    provide: RoutingStore,
    inject: [ROUTING_REDIS, ENV, Clock],
    useFactory: (redis: Redis, env: Env, clock: Clock) =>
      new RoutingStore(redis, {
        offerTimeoutMs: env.OFFER_TIMEOUT_SECONDS * 1000,
        graceMs: env.OPERATOR_GRACE_SECONDS * 1000,
        serviceLevelMs: env.SERVICE_LEVEL_SECONDS * 1000,
        timeZone: env.TIME_ZONE,
        clock,
      }),
  },
  { provide: ConferenceState, inject: [ROUTING_REDIS], useFactory: (redis: Redis) => new ConferenceState(redis) },
  { provide: CallerLocations, inject: [ROUTING_REDIS], useFactory: (redis: Redis) => new CallerLocations(redis) },
];

/**
 * The shared state of call handling, in Redis under the routing prefix (libs/routing): the queue and
 * the operators (RoutingStore), the calls in conferences (ConferenceState), the caller-ID location of
 * a waiting caller (CallerLocations), on routing's own connection. Every gateway node sees the same.
 */
@Module({ providers, exports: [ROUTING_REDIS, RoutingStore, ConferenceState, CallerLocations] })
export class RoutingStateModule {}
