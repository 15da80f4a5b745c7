import { Injectable, Logger } from '@nestjs/common';
import { CallDestructionSteps } from '@hotline/calls';
import { ContactKeys } from '@hotline/crypto';
import { NotYet } from '@hotline/jobs';
import type { DeletionStep } from '@hotline/calls';
import { TwilioService, isTwilioNotYetDeletable } from '@hotline/twilio';
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
 * (recordings; every leg of each call: the conference participants on record, which have no parent
 * at Twilio, and the legs a `<Dial>` opened, found by their parent; the calls placed back to the
 * caller and their legs; the caller's call: their records hold the caller's number, times and
 * duration), from the sealed SIDs secure deletion queued in `twilio_cleanup`. Adds each call's
 * Twilio steps to its certificate; once all are done destroys the one-time key (which makes every
 * copy of the sealed SIDs unreadable) and then the row. Safe to repeat: a resource already gone at
 * Twilio (404) counts as done; a call done in an earlier attempt is not repeated, nor a resource
 * its certificate already names. A call Twilio will not delete yet (409, 20009: in progress, or
 * ended moments ago) makes the job `NotYet`: put back with backoff (`TWILIO_DELETE_RETRY_MS`), not a
 * failure; a failing Twilio fails the attempt (quick retries, the last one audited, then the reconciler's).
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
    const pending = entries.filter((e) => !before.has(e.callId));
    // What an earlier attempt deleted already (named in the certificates): not deleted, nor certified, twice.
    const earlier = row.attempts > 0 ? await this.calls.deletedAtTwilioOf(pending.map((e) => e.callId)) : new Map<string, Set<string>>();
    const progress: { callId: string; steps: DeletionStep[] }[] = [];
    const finished: string[] = [];
    const failures: Error[] = [];
    const notYet: string[] = [];
    await forEachLimited(pending, PARALLEL, async (e) => {
      const steps: DeletionStep[] = [];
      try {
        const refused = await this.cleanUp(e, steps, earlier.get(e.callId) ?? new Set());
        if (refused) notYet.push(e.callId);
        else finished.push(e.callId);
      } catch (err) {
        failures.push((err as { status?: number }).status === 400 ? new CallLiveAtTwilioError(e.callId) : (err as Error));
      }
      if (steps.length) progress.push({ callId: e.callId, steps });
    });
    if (progress.length || finished.length) await this.calls.twilioCleanupProgress(cleanupId, progress, [...row.done, ...finished]);
    if (failures.length) throw failures[0];
    // Not a failure: Twilio keeps a call it may not delete yet; the job comes back for it (and whatever else is left).
    if (notYet.length)
      throw new NotYet(`Twilio will not delete ${notYet.length} call(s) of the cleanup yet (20009)`, {
        cause: new CallLiveAtTwilioError(notYet[0]),
      });
    // The key first: once it is gone no copy of the row opens; a row left by a crash here is dropped as unreadable.
    await this.keys.destroy(row.contactKeyId);
    await this.calls.deleteTwilioCleanup(cleanupId);
    return { outcome: 'done', calls: entries.length };
  }

  /**
   * One call's resources at Twilio, each step pushed to `steps` as it is done: recordings, then its
   * legs on record, then the calls placed back to the caller (their legs first), then the caller's
   * call (the legs a `<Dial>` of it opened first). A resource Twilio will not delete yet (20009)
   * does not stop the others; a call whose legs are not all gone keeps its own Call for the next try
   * (its legs are found through it). True when Twilio refused something (the call is not done); any
   * other failure is thrown as it comes. `done`: SIDs an earlier attempt deleted.
   */
  private async cleanUp(e: CleanupEntry, steps: DeletionStep[], done: Set<string>): Promise<boolean> {
    let refused = false;
    const step = (name: string, outcome: 'deleted' | 'already_gone', sid: string) => {
      steps.push({ step: name, outcome: outcome === 'deleted' ? 'done' : 'already_done', at: new Date().toISOString(), detail: sid });
      done.add(sid);
    };
    /** Deletes one call at Twilio; false when Twilio will not yet. */
    const deleteCall = async (name: string, sid: string): Promise<boolean> => {
      if (done.has(sid)) return true;
      try {
        step(name, await this.twilio.deleteCall(sid), sid);
        return true;
      } catch (err) {
        if (!isTwilioNotYetDeletable(err)) throw err;
        refused = true;
        return false;
      }
    };
    /** A call and, first, the legs it opened (found by their parent). */
    const withLegs = async (name: string, sid: string): Promise<void> => {
      if (done.has(sid)) return;
      let legsGone = true;
      for (const leg of await this.twilio.childCallSids(sid)) legsGone = (await deleteCall('call_leg_at_twilio', leg)) && legsGone;
      if (legsGone) await deleteCall(name, sid);
    };
    for (const sid of e.recordingSids) if (!done.has(sid)) step('recording_at_twilio', await this.twilio.deleteRecording(sid), sid);
    for (const sid of e.legSids ?? []) await deleteCall('call_leg_at_twilio', sid);
    for (const sid of e.outboundCallSids ?? []) await withLegs('callback_call_at_twilio', sid);
    if (e.callSid) await withLegs('call_at_twilio', e.callSid);
    return refused;
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
