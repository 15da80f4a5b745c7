import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type Redis from 'ioredis';
import { Env, HotlineConfigModule } from '@hotline/config';
import { GlobalExceptionFilter, HEALTH_PROBES, HealthController, HealthService, MetricsModule, REDIS, RedisModule, loggerModuleParams, redisProbe, HealthProbe } from '@hotline/observability';
import { RecordsDb, RecordsDbModule } from './records-db';
import { CallHandlingModule } from './call-handling.module';
import { ConsoleModule } from './console/console.module';

/** The internet-facing edge: Twilio webhooks, call routing, the live console. Holds no content key. */
@Module({})
export class GatewayModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: GatewayModule,
      imports: [HotlineConfigModule.forRoot(env), LoggerModule.forRoot(loggerModuleParams('gateway')), RedisModule.forRoot(), MetricsModule, RecordsDbModule, CallHandlingModule, ConsoleModule],
      controllers: [HealthController],
      providers: [
        HealthService,
        {
          provide: HEALTH_PROBES,
          inject: [RecordsDb, REDIS],
          useFactory: (db: RecordsDb, redis: Redis): HealthProbe[] => [
            { name: 'mysql', check: async () => void (await (await db.get()).query('SELECT 1')) },
            redisProbe(redis),
          ],
        },
        { provide: APP_FILTER, useClass: GlobalExceptionFilter },
      ],
    };
  }
}
