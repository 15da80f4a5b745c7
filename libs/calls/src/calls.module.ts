import { Module } from '@nestjs/common';
import { ENV, Env, loadRetentionConfig } from '@hotline/config';
import { CryptoModule } from '@hotline/crypto';
import { CallMapper } from './call.mapper';
import { CallRecordings } from './call-recordings';
import { CallRepository } from './call.repository';
import { CallRetention } from './call-retention';
import { CallerRecords } from './caller-records';
import { CallDestructionSteps } from './destruction-steps';
import { LegalHolds } from './legal-holds';
import { CALLS_RETENTION, TypeOrmCallRepository } from './typeorm-call.repository';

const RECORD_STORES = [LegalHolds, CallerRecords, CallRecordings, CallRetention, CallDestructionSteps];

/**
 * The call record without its content (no key, no cipher): holds, callers, recordings, retention
 * paging and the row steps of destruction, over the app's records data source (TypeORM default).
 * For the worker and the retention report; the gateway, whose data source connects lazily,
 * builds these classes (and CallLifecycle) over it itself.
 */
@Module({ providers: RECORD_STORES, exports: RECORD_STORES })
export class CallRecordsModule {}

/** Calls and their content for apps that hold MASTER_KEY (records, the benchmarks). */
@Module({
  imports: [CryptoModule, CallRecordsModule],
  providers: [
    CallMapper,
    { provide: CALLS_RETENTION, inject: [ENV], useFactory: (env: Env) => loadRetentionConfig(env.RETENTION_CONFIG) },
    { provide: CallRepository, useClass: TypeOrmCallRepository },
  ],
  exports: [CallRepository, CALLS_RETENTION, CallRecordsModule],
})
export class CallsModule {}
