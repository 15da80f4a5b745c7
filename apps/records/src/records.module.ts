import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env, HotlineConfigModule, HotlineConfigOptions } from '@hotline/config';
import { KEYSTORE, PersistenceModule } from '@hotline/persistence';
import { AuditModule } from '@hotline/audit';
import { AccessGuard, TokenModule } from '@hotline/auth';
import { CryptoModule } from '@hotline/crypto';
import { RetentionApiModule } from './retention/retention-api.module';
import { DeletionRequestsModule } from './deletion-requests/deletion-requests.module';
import { RecordsAuthModule } from './auth/auth.module';
import { RecordsCallsModule } from './calls/calls.module';
import { RecordsAuditModule } from './audit/audit.controller';
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

/** The system of record: staff and sign-in, calls and their content, holds, audit. */
@Module({})
export class RecordsModule {
  static forRoot(env: Env, options: HotlineConfigOptions = {}): DynamicModule {
    return {
      module: RecordsModule,
      imports: [
        HotlineConfigModule.forRoot(env, options),
        LoggerModule.forRoot(loggerModuleParams('records', env)),
        PersistenceModule.forRoot(),
        RedisModule.forRoot(),
        MetricsModule,
        AuditModule,
        TokenModule,
        CryptoModule,
        RecordsAuthModule,
        RecordsCallsModule,
        RecordsAuditModule,
        RetentionApiModule,
        DeletionRequestsModule,
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
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_FILTER, useClass: GlobalExceptionFilter },
      ],
    };
  }
}
