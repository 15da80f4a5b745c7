import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Env, HotlineConfigOptions } from '@hotline/config';
import { PersistenceModule, databasesAndRedisProbes } from '@hotline/persistence';
import { AuditModule } from '@hotline/audit';
import { AccessGuard, TokenModule } from '@hotline/auth';
import { CryptoModule } from '@hotline/crypto';
import { hotlineAppModule } from '@hotline/observability';
import { RetentionApiModule } from './retention/retention-api.module';
import { DeletionRequestsModule } from './deletion-requests/deletion-requests.module';
import { RecordsAuthModule } from './auth/auth.module';
import { RecordsCallsModule } from './calls/calls.module';
import { RecordsCallbacksModule } from './callbacks/callbacks.module';
import { HandoverModule } from './handover/handover.controller';
import { RecordsAuditModule } from './audit/audit.controller';
import { StatsModule } from './stats/stats.controller';
import { ComplaintsModule } from './complaints/complaints.controller';
import { ResearchModule } from './research/research.controller';
import { RecordsOfficerModule } from './oversight/records-officer.controller';

/** The system of record: staff and sign-in, calls and their content, holds, audit. */
@Module({})
export class RecordsModule {
  static forRoot(env: Env, options: HotlineConfigOptions = {}): DynamicModule {
    return hotlineAppModule(RecordsModule, {
      app: 'records',
      env,
      options,
      imports: [
        PersistenceModule.forRoot(),
        AuditModule,
        TokenModule,
        CryptoModule,
        RecordsAuthModule,
        RecordsCallsModule,
        RecordsCallbacksModule,
        HandoverModule,
        RecordsAuditModule,
        RetentionApiModule,
        DeletionRequestsModule,
        StatsModule,
        ComplaintsModule,
        ResearchModule,
        RecordsOfficerModule,
      ],
      probes: databasesAndRedisProbes,
      providers: [{ provide: APP_GUARD, useClass: AccessGuard }],
    });
  }
}
