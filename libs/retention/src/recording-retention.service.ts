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
        if ((await this.deleteAtTwilio(rec, 'retention')) !== 'deleted') continue;
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

  /**
   * Deletes one recording at Twilio (404 counts as done), marks it deleted and audits it, for
   * retention and for a withdrawn consent alike. The hold is checked with the call's row locked, in
   * the transaction that marks the recording, so a hold placed at the same moment either comes
   * first (the recording is kept) or waits until this is done: never a recording lost under a hold.
   */
  async deleteAtTwilio(
    rec: { id: string; callId: string; recordingSid: string },
    reason: 'retention' | 'consent_withdrawn',
  ): Promise<'deleted' | 'held' | 'gone'> {
    return this.db.transaction(async (m) => {
      if (!(await this.recordings.lockCall(rec.callId, m))) return 'gone';
      if (await this.holds.isHeld(rec.callId, m, true)) return 'held';
      const outcome = await this.twilio.deleteRecording(rec.recordingSid);
      if (await this.recordings.markDeleted(rec.id, m, this.clock.now())) {
        await this.audit.append(
          {
            actorId: null,
            actorRole: 'system',
            action: 'recording.deleted',
            targetType: 'call',
            targetId: rec.callId,
            detail: { recordingId: rec.id, reason, twilio: outcome },
          },
          m,
        );
      }
      return 'deleted';
    });
  }
}
