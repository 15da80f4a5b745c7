import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { CallRecordings, LegalHolds } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { TwilioService } from '@hotline/twilio';
import { retentionMetrics } from './metrics';

/**
 * Recordings have a shorter deadline than their call: when it passes, the recording is deleted
 * at Twilio and marked deleted, while the call itself stays until its own deadline.
 */
@Injectable()
export class RecordingRetentionService {
  private readonly logger = new Logger(RecordingRetentionService.name);
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly recordings: CallRecordings,
    private readonly holds: LegalHolds,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
  ) {}

  /** Deletes up to `limit` expired recordings; a failure is left for the next scan. */
  async deleteExpired(now: Date, limit: number): Promise<{ deleted: number; failed: number }> {
    const due = await this.recordings.expiredOfLiveCalls(now, limit);
    let deleted = 0;
    let failed = 0;
    for (const rec of due) {
      try {
        // Re-checked just before Twilio: a hold placed since the page was read keeps the recording.
        if (await this.holds.isHeld(rec.callId)) continue;
        const outcome = await this.twilio.deleteRecording(rec.recordingSid);
        await this.db.transaction(async (m) => {
          if (await this.recordings.markDeleted(rec.id, m, this.clock.now())) {
            await this.audit.append(
              {
                actorId: null,
                actorRole: 'system',
                action: 'recording.deleted',
                targetType: 'call',
                targetId: rec.callId,
                detail: { recordingId: rec.id, reason: 'retention', twilio: outcome },
              },
              m,
            );
          }
        });
        deleted++;
        retentionMetrics.recordingsDeleted().inc();
      } catch (e) {
        failed++;
        this.logger.warn({
          msg: 'recording not deleted at Twilio; the next scan retries',
          recordingId: rec.id,
          callId: rec.callId,
          error: (e as Error).name,
        });
      }
    }
    return { deleted, failed };
  }
}
