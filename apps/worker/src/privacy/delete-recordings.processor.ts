import { Injectable } from '@nestjs/common';
import { CallRecordings } from '@hotline/calls';
import { RecordingRetentionService } from '@hotline/retention';

/**
 * Deletes at Twilio the recordings of calls whose caller withdrew consent to recording (404 counts
 * as done) and marks them deleted. Only recordings whose consent is withdrawn are touched, whatever
 * the payload says; a call under legal hold keeps its recording (checked under the call's row lock,
 * see RecordingRetentionService.deleteAtTwilio). A failure throws after the others
 * are done, so the retry has only the rest to do.
 */
@Injectable()
export class DeleteRecordingsProcessor {
  constructor(
    private readonly recordings: CallRecordings,
    private readonly retention: RecordingRetentionService,
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
        const done = await this.retention.deleteAtTwilio(rec, 'consent_withdrawn');
        if (done === 'held') {
          held++;
          continue;
        }
        if (done === 'gone') continue;
        deleted++;
      } catch (e) {
        failure ??= e as Error;
      }
    }
    if (failure) throw failure;
    return { deleted, held };
  }
}
