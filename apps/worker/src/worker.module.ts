import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env, HotlineConfigModule } from '@hotline/config';
import { KEYSTORE, PersistenceModule } from '@hotline/persistence';
import { AuditModule } from '@hotline/audit';
import { CryptoModule } from '@hotline/crypto';
import { JobsModule } from '@hotline/jobs';
import { RetentionWorkerModule } from './retention/retention-worker.module';
import { PrivacyWorkerModule } from './privacy/privacy-worker.module';
import { GlobalExceptionFilter, HEALTH_PROBES, HealthController, HealthService, MetricsModule, REDIS, RedisModule, loggerModuleParams, mysqlProbe, redisProbe } from '@hotline/observability';

/** BullMQ processors: retention scans, secure deletion, deletion requests, outbound SMS. */
@Module({})
export class WorkerModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        HotlineConfigModule.forRoot(env),
        LoggerModule.forRoot(loggerModuleParams('worker')),
        PersistenceModule.forRoot(),
        RedisModule.forRoot(),
        JobsModule.forRoot('wait'),
        MetricsModule,
        AuditModule,
        CryptoModule,
        RetentionWorkerModule,
        PrivacyWorkerModule,
      ],
      controllers: [HealthController],
      providers: [
        HealthService,
        {
          provide: HEALTH_PROBES,
          inject: [getDataSourceToken(), getDataSourceToken(KEYSTORE), REDIS],
          useFactory: (db: DataSource, keys: DataSource, redis: Redis) => [mysqlProbe('mysql', () => db), mysqlProbe('keystore', () => keys), redisProbe(redis)],
        },
        { provide: APP_FILTER, useClass: GlobalExceptionFilter },
      ],
    };
  }
}
