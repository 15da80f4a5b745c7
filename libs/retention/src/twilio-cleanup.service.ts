import { Injectable, Logger } from '@nestjs/common';
import { CallDestructionSteps } from '@hotline/calls';
import { ContactKeys } from '@hotline/crypto';
import type { DeletionStep } from '@hotline/persistence';
import { TwilioService } from '@hotline/twilio';
import { CallLiveAtTwilioError, CleanupEntry, cleanupContext } from './secure-delete.service';

export type TwilioCleanupOutcome =
  /** Every resource of the batch is gone at Twilio; the sealed SIDs and their key are destroyed. */
  | { outcome: 'done'; calls: number }
  /** Nothing queued under this id (done before, by a repeated job). */
  | { outcome: 'already_done' }
  /** The key that opens the batch is gone (it cannot be after a normal run): nothing left to read; the row is dropped. */
  | { outcome: 'unreadable' };

/** How many calls of a batch are cleaned up at Twilio at once. */
const PARALLEL = 16;

/**
 * The second half of a secure deletion: deletes at Twilio what the destroyed calls left there
 * (recordings, the legs Twilio opened for each call, the caller's call: their records hold the
 * caller's number, times and duration), from the sealed SIDs secure deletion queued in
 * `twilio_cleanup`. Adds each call's Twilio steps to its certificate; once all are done destroys
 * the one-time key (which makes every copy of the sealed SIDs unreadable) and then the row.
 * Safe to repeat: a resource already gone at Twilio (404) counts as done; a call done in an
 * earlier attempt is not repeated. A call Twilio will not delete yet (still in progress) or a
 * failure leaves the row for the job's retry (and the reconciler's).
 */
@Injectable()
export class TwilioCleanupService {
  private readonly logger = new Logger(TwilioCleanupService.name);

  constructor(
    private readonly calls: CallDestructionSteps,
    private readonly keys: ContactKeys,
    private readonly twilio: TwilioService,
  ) {}

  async run(cleanupId: string): Promise<TwilioCleanupOutcome> {
    const row = await this.calls.twilioCleanup(cleanupId);
    if (!row) return { outcome: 'already_done' };
    const opened = await this.keys.open(row.contactKeyId, row.sealed, cleanupContext(cleanupId));
    if (opened === null) {
      this.logger.error({ msg: 'a Twilio cleanup cannot be opened (its key is gone); dropped', cleanupId });
      await this.calls.deleteTwilioCleanup(cleanupId);
      return { outcome: 'unreadable' };
    }
    const entries = JSON.parse(opened) as CleanupEntry[];
    const before = new Set(row.done);
    const finished: { callId: string; steps: DeletionStep[] }[] = [];
    const failures: Error[] = [];
    await forEachLimited(
      entries.filter((e) => !before.has(e.callId)),
      PARALLEL,
      async (e) => {
        try {
          finished.push({ callId: e.callId, steps: await this.cleanUp(e) });
        } catch (err) {
          const status = (err as { status?: number }).status;
          failures.push(status === 400 || status === 409 ? new CallLiveAtTwilioError(e.callId) : (err as Error));
        }
      },
    );
    if (finished.length) await this.calls.twilioCleanupProgress(cleanupId, finished, [...row.done, ...finished.map((f) => f.callId)]);
    if (failures.length) throw failures[0];
    // The key first: once it is gone no copy of the row opens; a row left by a crash here is dropped as unreadable.
    await this.keys.destroy(row.contactKeyId);
    await this.calls.deleteTwilioCleanup(cleanupId);
    return { outcome: 'done', calls: entries.length };
  }

  /**
   * One call's resources at Twilio: recordings, then the calls placed back to the caller (callbacks),
   * then the legs the call opened (found by their parent), then the caller's call.
   */
  private async cleanUp(e: CleanupEntry): Promise<DeletionStep[]> {
    const steps: DeletionStep[] = [];
    const step = (name: string, outcome: 'deleted' | 'already_gone', sid: string) =>
      steps.push({ step: name, outcome: outcome === 'deleted' ? 'done' : 'already_done', at: new Date().toISOString(), detail: sid });
    for (const sid of e.recordingSids) step('recording_at_twilio', await this.twilio.deleteRecording(sid), sid);
    for (const sid of e.outboundCallSids ?? []) {
      for (const leg of await this.twilio.childCallSids(sid)) step('call_leg_at_twilio', await this.twilio.deleteCall(leg), leg);
      step('callback_call_at_twilio', await this.twilio.deleteCall(sid), sid);
    }
    if (e.callSid) {
      for (const leg of await this.twilio.childCallSids(e.callSid)) step('call_leg_at_twilio', await this.twilio.deleteCall(leg), leg);
      step('call_at_twilio', await this.twilio.deleteCall(e.callSid), e.callSid);
    }
    return steps;
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
