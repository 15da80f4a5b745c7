import { Global, Module } from '@nestjs/common';
import { ENV, Env } from '@hotline/config';
import { checkpointKeys, CheckpointStore } from './audit-checkpoints';
import { AUDIT_CHECKPOINTS, AuditService } from './audit.service';
import { AuditSearch } from './audit-search';

@Global()
@Module({
  providers: [
    AuditService,
    AuditSearch,
    {
      provide: AUDIT_CHECKPOINTS,
      inject: [ENV],
      useFactory: (env: Env) =>
        new CheckpointStore(env.AUDIT_CHECKPOINT_DIR, checkpointKeys(env.AUDIT_CHECKPOINT_KEY, env.AUDIT_CHECKPOINT_PUBLIC_KEY)),
    },
  ],
  exports: [AuditService, AuditSearch, AUDIT_CHECKPOINTS],
})
export class AuditModule {}
