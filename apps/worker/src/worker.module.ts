import { DynamicModule, Module } from '@nestjs/common';
import { Env, HotlineConfigOptions } from '@hotline/config';
import { PersistenceModule, databasesAndRedisProbes } from '@hotline/persistence';
import { AuditModule } from '@hotline/audit';
import { CryptoModule } from '@hotline/crypto';
import { JobsModule } from '@hotline/jobs';
import { hotlineAppModule } from '@hotline/observability';
import { RetentionWorkerModule } from './retention/retention-worker.module';
import { PrivacyWorkerModule } from './privacy/privacy-worker.module';
import { AuditCheckpointModule } from './audit/audit-checkpointer';

/** BullMQ processors: retention scans, secure deletion, deletion requests, outbound SMS; audit checkpoints. */
@Module({})
export class WorkerModule {
  static forRoot(env: Env, options: HotlineConfigOptions = {}): DynamicModule {
    return hotlineAppModule(WorkerModule, {
      app: 'worker',
      env,
      options,
      imports: [
        PersistenceModule.forRoot(),
        JobsModule.forRoot('wait'),
        AuditModule,
        CryptoModule,
        RetentionWorkerModule,
        PrivacyWorkerModule,
        AuditCheckpointModule,
      ],
      probes: databasesAndRedisProbes,
    });
  }
}
