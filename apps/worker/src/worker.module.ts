import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env, HotlineConfigModule, HotlineConfigOptions } from '@hotline/config';
import { KEYSTORE, PersistenceModule } from '@hotline/persistence';
import { AuditModule } from '@hotline/audit';
import { CryptoModule } from '@hotline/crypto';
import { JobsModule } from '@hotline/jobs';
import { RetentionWorkerModule } from './retention/retention-worker.module';
import { PrivacyWorkerModule } from './privacy/privacy-worker.module';
import { AuditCheckpointModule } from './audit/audit-checkpointer';
import {
  GlobalExceptionFilter,
  HEALTH_PROBES,
  HealthController,
  HealthService,
  MetricsModule,
  REDIS,
  RedisModule,
  loggerModuleParams,
  mysqlProbe,
  redisProbe,
} from '@hotline/observability';

/** BullMQ processors: retention scans, secure deletion, deletion requests, outbound SMS. */
@Module({})
export class WorkerModule {
  static forRoot(env: Env, options: HotlineConfigOptions = {}): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        HotlineConfigModule.forRoot(env, options),
        LoggerModule.forRoot(loggerModuleParams('worker', env)),
        PersistenceModule.forRoot(),
        RedisModule.forRoot(),
        JobsModule.forRoot('wait'),
        MetricsModule,
        AuditModule,
        CryptoModule,
        RetentionWorkerModule,
        PrivacyWorkerModule,
        AuditCheckpointModule,
      ],
      controllers: [HealthController],
      providers: [
        HealthService,
        {
          provide: HEALTH_PROBES,
          inject: [getDataSourceToken(), getDataSourceToken(KEYSTORE), REDIS],
          useFactory: (db: DataSource, keys: DataSource, redis: Redis) => [
            mysqlProbe('mysql', () => db),
            mysqlProbe('keystore', () => keys),
            redisProbe(redis),
          ],
        },
        { provide: APP_FILTER, useClass: GlobalExceptionFilter },
      ],
    };
  }
}
