import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { AuditService } from '@hotline/audit';
import { CallDestructionSteps, DestructionCandidate, NewCertificate } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { DataKeyStore } from '@hotline/crypto';
import type { DeletionStep } from '@hotline/persistence';
import { TwilioService } from '@hotline/twilio';
import { retentionMetrics } from './metrics';

export type DeletionReason = 'retention' | 'caller_request';

export interface SecureDeleteRequest {
  callId: string;
  reason: DeletionReason;
  /** The deletion request (made by phone) this carries out; reason `caller_request`. */
  deletionRequestId?: string | null;
}

export type SecureDeleteOutcome =
  | { callId: string; outcome: 'destroyed'; certificateId: string }
  /** Destroyed earlier (a repeated job, or another worker got there first). */
  | { callId: string; outcome: 'already_destroyed'; certificateId: string }
  /** A legal hold stands: nothing was destroyed (recordings included, unless the hold came mid-way). */
  | { callId: string; outcome: 'held' }
  /** Reason `retention` only: the deadline moved later (a higher risk was assessed) while the job waited. */
  | { callId: string; outcome: 'not_expired' }
  | { callId: string; outcome: 'not_found' }
  | { callId: string; outcome: 'failed'; error: Error };

/** Twilio would not delete the call yet (it is still in progress: 400/409); the retry tries again once it has ended. */
export class CallLiveAtTwilioError extends Error {
  constructor(readonly callId: string) {
    super(`call ${callId} is still in progress at Twilio; it is deleted there on a later attempt`);
    this.name = 'CallLiveAtTwilioError';
  }
}

/** A recording row appeared after the recordings were deleted at Twilio; the retry deletes it there first. */
export class RecordingArrivedError extends Error {
  constructor(readonly callId: string) {
    super(`a recording of call ${callId} arrived during its deletion; it is deleted at Twilio on the next attempt`);
    this.name = 'RecordingArrivedError';
  }
}

const AUDIT_ACTOR = { actorId: null, actorRole: 'system' };

/**
 * Destroys calls so that it can be proven: recordings and the call itself at Twilio (its record
 * there holds the caller's number, times and duration, for the caller's leg and every leg Twilio
 * opened for it, the operator's included), the data key (crypto-shredding:
 * every copy of the content, backups and binlogs included, becomes unreadable), the rows, then a
 * content-free certificate and an audit entry. Every step is safe to repeat, so a job killed at
 * any point is finished by running it again.
 *
 * Used by the retention worker (reason `retention`) and by deletion requests made by phone
 * (reason `caller_request`, with the request's id). A call under legal hold is skipped, never failed.
 */
@Injectable()
export class SecureDeleteService {
  private readonly logger = new Logger(SecureDeleteService.name);
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    private readonly calls: CallDestructionSteps,
    private readonly keys: DataKeyStore,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
  ) {}

  async destroy(request: SecureDeleteRequest): Promise<SecureDeleteOutcome> {
    const [outcome] = await this.destroyMany([request]);
    return outcome;
  }

  /**
   * Destroys several calls with the same steps, in one records transaction where it can (the
   * guarantees are per call; batching only saves round trips and commits). One outcome per call;
   * a call that fails does not stop the others.
   *
   * The order, and why:
   *  1. Check for a hold. A held call is left alone, its recordings included.
   *  2. Delete the recordings, then the call's legs (those Twilio opened for it, found by their
   *     parent, then the caller's own), at Twilio (404 counts as done), with the call rows locked in share
   *     mode and the hold checked again under that lock: a hold placed in the moment between 1 and
   *     2 either came first (the call is skipped, recording and all) or waits for the deletion to
   *     end. Twilio cannot take part in a MySQL transaction, so this is its own, before step 3: if
   *     anything later fails, the retry finds the recordings gone and moves on.
   *  3. One records transaction that locks the call row and the call's range of the legal-hold
   *     index (and of its recordings: one that arrived after step 2 sends the call back to step 2
   *     on the retry), then re-checks the hold and the deadline; deletes the rows (the call's
   *     DELETE carries the hold predicate too) and writes the certificate and the audit entry,
   *     uncommitted; destroys the data key; and only then commits. While the locks are held no
   *     hold can be inserted for the call, and a reader that locks the call row in share mode (as
   *     records does) waits: so the hold check and the key's destruction cannot be separated by a
   *     new hold (destroying a held call's key would destroy it in effect), and a reader sees the
   *     whole call or none of it. The key is destroyed before the row deletions are committed,
   *     because it is what destroys every other copy (binlog, backups); see `finish`.
   */
  async destroyMany(requests: SecureDeleteRequest[], now = this.clock.now()): Promise<SecureDeleteOutcome[]> {
    const unique = [...new Map(requests.map((r) => [r.callId, r])).values()];
    const results = new Map<string, SecureDeleteOutcome>();
    const steps = new Map<string, DeletionStep[]>(unique.map((r) => [r.callId, []]));
    const step = (callId: string, name: string, outcome: DeletionStep['outcome'], detail?: string) =>
      steps.get(callId)!.push({ step: name, outcome, at: new Date().toISOString(), ...(detail ? { detail } : {}) });

    // 1. First look: present, held, expired.
    const ids = unique.map((r) => r.callId);
    const byId = await this.calls.firstLook(ids);
    let eligible: SecureDeleteRequest[] = [];
    for (const r of unique) {
      const row = byId.get(r.callId);
      if (!row) continue;
      if (row.held) results.set(r.callId, { callId: r.callId, outcome: 'held' });
      else if (r.reason === 'retention' && new Date(row.retentionDeadline) > now)
        results.set(r.callId, { callId: r.callId, outcome: 'not_expired' });
      else {
        step(r.callId, 'hold_check', 'done');
        eligible.push(r);
      }
    }

    // 2. Recordings and calls at Twilio.
    if (eligible.length) eligible = await this.deleteAtTwilio(eligible, results, step);

    // 3. Key, rows, certificate, audit: one transaction for the batch; one per call if that fails.
    if (eligible.length) {
      try {
        await this.finish(eligible, steps, results, now);
      } catch (e) {
        if (eligible.length === 1) results.set(eligible[0].callId, { callId: eligible[0].callId, outcome: 'failed', error: e as Error });
        else {
          this.logger.warn({
            msg: 'batched secure deletion failed; finishing the calls one by one',
            calls: eligible.length,
            error: (e as Error).name,
          });
          for (const r of eligible) {
            try {
              await this.finish([r], steps, results, now);
            } catch (err) {
              results.set(r.callId, { callId: r.callId, outcome: 'failed', error: err as Error });
            }
          }
        }
      }
    }

    // Absent rows: destroyed before (a repeated job) or never here.
    const unresolved = unique.filter((r) => !results.has(r.callId)).map((r) => r.callId);
    if (unresolved.length) {
      const certOf = await this.calls.certificateIds(unresolved);
      for (const callId of unresolved) {
        const certificateId = certOf.get(callId);
        results.set(callId, certificateId ? { callId, outcome: 'already_destroyed', certificateId } : { callId, outcome: 'not_found' });
      }
    }
    for (const o of results.values()) if (o.outcome === 'held') retentionMetrics.skippedHeld().inc();
    return requests.map((r) => results.get(r.callId)!);
  }

  private async deleteAtTwilio(
    eligible: SecureDeleteRequest[],
    results: Map<string, SecureDeleteOutcome>,
    step: (callId: string, name: string, outcome: DeletionStep['outcome'], detail?: string) => void,
  ): Promise<SecureDeleteRequest[]> {
    const failed = new Map<string, Error>();
    // The calls' rows stay locked (shared) while their recordings are deleted at Twilio, and the hold
    // is checked under that lock: a hold placed now waits for this, or came first and keeps them.
    const heldNow = await this.calls.transaction(async (m) => {
      const held = await this.calls.heldUnderLock(
        eligible.map((r) => r.callId),
        m,
      );
      const recordings = (await this.calls.recordingsOf(eligible.map((r) => r.callId))).filter((rec) => !held.has(rec.callId));
      const deletedIds: string[] = [];
      await forEachLimited(recordings, 32, async (rec) => {
        if (rec.deletedAt) return step(rec.callId, 'recording_at_twilio', 'already_done', rec.recordingSid);
        try {
          const outcome = await this.twilio.deleteRecording(rec.recordingSid);
          deletedIds.push(rec.id);
          step(rec.callId, 'recording_at_twilio', outcome === 'deleted' ? 'done' : 'already_done', rec.recordingSid);
        } catch (e) {
          failed.set(rec.callId, e as Error);
        }
      });
      // Remembered with the lock, so a held call (or a retry) knows its recording is gone at Twilio.
      await this.calls.markRecordingsDeleted(deletedIds, m, this.clock.now());
      // The calls themselves, once their recordings are gone: the SID goes with the row, so this is
      // the last moment they can be deleted there. The legs Twilio opened first (found by their
      // parent), then the caller's; a retry finds what is left (a deleted parent lists no legs).
      const sids = await this.calls.callSidsOf(
        eligible.map((r) => r.callId).filter((id) => !held.has(id) && !failed.has(id)),
        m,
      );
      await forEachLimited([...sids], 32, async ([callId, callSid]) => {
        try {
          for (const leg of await this.twilio.childCallSids(callSid)) {
            const outcome = await this.twilio.deleteCall(leg);
            step(callId, 'call_leg_at_twilio', outcome === 'deleted' ? 'done' : 'already_done', leg);
          }
          const outcome = await this.twilio.deleteCall(callSid);
          step(callId, 'call_at_twilio', outcome === 'deleted' ? 'done' : 'already_done', callSid);
        } catch (e) {
          const status = (e as { status?: number }).status;
          failed.set(callId, status === 400 || status === 409 ? new CallLiveAtTwilioError(callId) : (e as Error));
        }
      });
      return held;
    });
    for (const callId of heldNow) results.set(callId, { callId, outcome: 'held' });
    for (const [callId, error] of failed) results.set(callId, { callId, outcome: 'failed', error });
    return eligible.filter((r) => !failed.has(r.callId) && !heldNow.has(r.callId));
  }

  private async finish(
    batch: SecureDeleteRequest[],
    steps: Map<string, DeletionStep[]>,
    results: Map<string, SecureDeleteOutcome>,
    now: Date,
  ): Promise<void> {
    const done: SecureDeleteOutcome[] = [];
    await this.calls.transaction(async (m) => {
      // The call rows, the calls' range of the hold index (no hold can be inserted for them until
      // this transaction ends), and their recordings still at Twilio: a recording that arrived
      // after step 2 (a late status callback) must not lose its row before Twilio loses it.
      const {
        calls: lockedById,
        held,
        recordingAtTwilio,
      } = await this.calls.lock(
        batch.map((r) => r.callId),
        m,
      );
      const go: { req: SecureDeleteRequest; row: DestructionCandidate }[] = [];
      for (const req of batch) {
        const row = lockedById.get(req.callId);
        if (!row) continue; // deleted meanwhile: resolved as already_destroyed by the caller
        if (held.has(req.callId)) done.push({ callId: req.callId, outcome: 'held' });
        else if (req.reason === 'retention' && new Date(row.retentionDeadline) > now)
          done.push({ callId: req.callId, outcome: 'not_expired' });
        else if (recordingAtTwilio.has(req.callId))
          done.push({ callId: req.callId, outcome: 'failed', error: new RecordingArrivedError(req.callId) });
        else go.push({ req, row });
      }
      if (!go.length) return;
      const goIds = go.map((g) => g.req.callId);
      // Steps of this attempt only: a rolled-back attempt must not leave its steps in the next one's certificate.
      const mine = new Map(
        goIds.map((id) => [id, [...steps.get(id)!, { step: 'hold_recheck', outcome: 'done' as const, at: new Date().toISOString() }]]),
      );
      const keyPresent = await this.keys.existing(goIds);

      // The call's DELETE carries the hold predicate too: if it ever keeps a call (it cannot while
      // the locks above hold), this throws and nothing of this batch commits.
      const counts = await this.calls.deleteRows(goIds, m);
      const at = new Date();
      const summary = Object.entries(counts)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ');
      const certificates = go.map(({ req, row }): NewCertificate => {
        const s = mine.get(req.callId)!;
        s.push({ step: 'data_key', outcome: keyPresent.has(req.callId) ? 'done' : 'already_done', at: at.toISOString() });
        s.push({
          step: 'rows',
          outcome: 'done',
          at: at.toISOString(),
          detail: go.length === 1 ? summary : `batch of ${go.length}: ${summary}`,
        });
        return {
          id: randomUUID(),
          callId: req.callId,
          reason: req.reason,
          retentionPolicy: row.retentionPolicy,
          retentionDeadline: row.retentionDeadline,
          deletionRequestId: req.deletionRequestId ?? null,
          steps: s,
        };
      });
      await this.calls.writeCertificates(certificates, at, m);
      const entries = certificates.map((c) => ({
        ...AUDIT_ACTOR,
        action: 'call.destroyed',
        targetType: 'call',
        targetId: c.callId,
        detail: {
          reason: c.reason,
          retentionPolicy: c.retentionPolicy,
          certificateId: c.id,
          ...(c.deletionRequestId ? { deletionRequestId: c.deletionRequestId } : {}),
        },
      }));
      // The key goes just before the commit, so it is gone for good before the row deletions are
      // (the commit below): if the keystore fails, nothing is deleted; if this process dies
      // between the two, the rows are unreadable already, and the next run finishes them. Doing it
      // here rather than first keeps that in-between state to the width of the audit append and
      // one commit.
      await this.destroyKeys(goIds);

      // In this transaction: the entry commits with the deletion it records, or neither does.
      // Last, because it locks the head of the audit chain, which every writer of the trail waits
      // for: held from here to the commit only, batches running side by side queue on it briefly.
      await this.audit.appendMany(entries, m);
      for (const c of certificates) done.push({ callId: c.callId, outcome: 'destroyed', certificateId: c.id });
    }, 'REPEATABLE READ');
    for (const o of done) {
      results.set(o.callId, o);
      if (o.outcome === 'destroyed') retentionMetrics.deletions().inc({ reason: batch.find((r) => r.callId === o.callId)!.reason });
    }
  }

  /** The key store's destroy; for many keys, one statement and one commit. Idempotent. */
  private async destroyKeys(callIds: string[]): Promise<void> {
    if (callIds.length === 1) await this.keys.destroy(callIds[0]);
    else await this.keys.destroyMany(callIds);
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
