import { Module } from '@nestjs/common';
import { CryptoModule } from '@hotline/crypto';
import { TwilioModule } from '@hotline/twilio';
import { ReconcileService } from './reconcile.service';
import { RecordingRetentionService } from './recording-retention.service';
import { RetentionReportService } from './retention-report.service';
import { SecureDeleteService } from './secure-delete.service';

/**
 * Retention and secure deletion, for the worker (and whoever destroys calls on request).
 * Needs PersistenceModule (both connections) and AuditModule from the app.
 */
@Module({
  imports: [CryptoModule, TwilioModule],
  providers: [SecureDeleteService, RecordingRetentionService, ReconcileService, RetentionReportService],
  exports: [SecureDeleteService, RecordingRetentionService, ReconcileService, RetentionReportService],
})
export class RetentionModule {}

/** The report alone (records' `GET /retention/report`, the CLI): reads the records database only. */
@Module({
  providers: [RetentionReportService],
  exports: [RetentionReportService],
})
export class RetentionReportModule {}
