import { Module } from '@nestjs/common';
import { CallRecordsModule } from '@hotline/calls';
import { CryptoModule } from '@hotline/crypto';
import { RetentionJobs } from '@hotline/jobs';
import { TwilioModule } from '@hotline/twilio';
import { ReconcileService } from './reconcile.service';
import { RecordingRetentionService } from './recording-retention.service';
import { RetentionReportService } from './retention-report.service';
import { SecureDeleteService } from './secure-delete.service';
import { TwilioCleanupService } from './twilio-cleanup.service';

/**
 * Retention and secure deletion, for the worker (and whoever destroys calls on request).
 * Needs PersistenceModule (both connections), AuditModule and JobsModule from the app. Exports the call
 * record's stores (CallRecordsModule) that the worker's processors use.
 */
@Module({
  imports: [CryptoModule, TwilioModule, CallRecordsModule],
  providers: [
    RetentionJobs,
    SecureDeleteService,
    TwilioCleanupService,
    RecordingRetentionService,
    ReconcileService,
    RetentionReportService,
  ],
  exports: [
    RetentionJobs,
    SecureDeleteService,
    TwilioCleanupService,
    RecordingRetentionService,
    ReconcileService,
    RetentionReportService,
    CallRecordsModule,
  ],
})
export class RetentionModule {}

/** The report alone (records' `GET /retention/report`, the CLI): reads the records database only. */
@Module({
  imports: [CallRecordsModule],
  providers: [RetentionReportService],
  exports: [RetentionReportService],
})
export class RetentionReportModule {}
