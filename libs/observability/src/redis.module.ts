import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { ENV, Env } from '@hotline/config';
import { createRedis } from './redis';

export const REDIS = Symbol('REDIS');

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** One shared ioredis client per app (`@Inject(REDIS)`), closed at shutdown. */
@Global()
@Module({})
export class RedisModule {
  static forRoot(): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        { provide: REDIS, inject: [ENV], useFactory: (env: Env) => createRedis(env.REDIS_URL, { connectionName: 'hotline' }) },
        RedisCloser,
      ],
      exports: [REDIS],
    };
  }
}
