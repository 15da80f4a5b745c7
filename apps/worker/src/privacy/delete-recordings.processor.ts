import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Clock, systemClock } from '@hotline/clock';
import { CallRecordings } from '@hotline/calls';
import { TwilioService } from '@hotline/twilio';

/**
 * Deletes at Twilio the recordings of calls whose caller withdrew consent to recording (404 counts
 * as done) and marks them deleted. Only recordings whose consent is withdrawn are touched, whatever
 * the payload says; a call under legal hold keeps its recording. A failure throws after the others
 * are done, so the retry has only the rest to do.
 */
@Injectable()
export class DeleteRecordingsProcessor {
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly recordings: CallRecordings,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
  ) {}

  async process(callIds: string[]): Promise<{ deleted: number; held: number }> {
    if (!callIds.length) return { deleted: 0, held: 0 };
    const recordings = await this.recordings.withdrawnConsentOf(callIds);
    let deleted = 0;
    let held = 0;
    let failure: Error | undefined;
    for (const rec of recordings) {
      if (rec.held) {
        held++;
        continue;
      }
      try {
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
                detail: { recordingId: rec.id, reason: 'consent_withdrawn', twilio: outcome },
              },
              m,
            );
          }
        });
        deleted++;
      } catch (e) {
        failure ??= e as Error;
      }
    }
    if (failure) throw failure;
    return { deleted, held };
  }
}
