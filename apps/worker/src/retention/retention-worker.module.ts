import { Module } from '@nestjs/common';
import { RetentionModule } from '@hotline/retention';
import { ReconcileProcessor } from './reconcile.processor';
import { RetentionScanProcessor } from './retention-scan.processor';
import { RetentionWorker } from './retention.worker';
import { SecureDeleteBatcher } from './secure-delete.batcher';
import { SecureDeleteProcessor } from './secure-delete.processor';

@Module({
  imports: [RetentionModule],
  providers: [SecureDeleteBatcher, RetentionScanProcessor, SecureDeleteProcessor, ReconcileProcessor, RetentionWorker],
})
export class RetentionWorkerModule {}
