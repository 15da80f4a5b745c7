import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { EntityManager } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { CallDestructionSteps, DestructionCandidate, NewCertificate, TwilioResidue } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { ContactKeys, DataKeyStore, PublishedContactKey, sealContact } from '@hotline/crypto';
import { RetentionJobs } from '@hotline/jobs';
import type { DeletionStep } from '@hotline/calls';
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

/**
 * Twilio would not delete a call of this destroyed call yet (400; or 409/20009 after the cleanup's
 * rounds of waiting for it were spent): a failure of the attempt, retried, and its last one audited.
 */
export class CallLiveAtTwilioError extends Error {
  constructor(readonly callId: string) {
    super(`call ${callId} is still in progress at Twilio; it is deleted there on a later attempt`);
    this.name = 'CallLiveAtTwilioError';
  }
}

const AUDIT_ACTOR = { actorId: null, actorRole: 'system' };

/**
 * Destroys calls so that it can be proven: the data key (crypto-shredding: every copy of the
 * content, backups and binlogs included, becomes unreadable), the rows, then a content-free
 * certificate and an audit entry, in one transaction; then, from a sealed queue, what Twilio holds
 * (the call, every leg of it: conference participants on record and the legs a `<Dial>` opened, the
 * calls placed back to the caller, its recordings: the caller's number, times and duration) by
 * `TwilioCleanupService`. Every step is safe to repeat, so a job killed at any point
 * is finished by running it again.
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
    private readonly cleanupKeys: ContactKeys,
    private readonly jobs: RetentionJobs,
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
   *  1. The batch's one-time key for its Twilio SIDs is made in the keystore.
   *  2. One records transaction that locks the call rows, the calls' range of the legal-hold index
   *     and their recordings, then checks the hold and the deadline (a held call, or one whose
   *     deadline moved, is left alone; no look without locks comes first: it would be repeated
   *     under them anyway, and the scan that queued the call just looked); reads under those locks
   *     what Twilio still holds of each call (its CallSid, its other legs on record, the calls placed
   *     back to the caller, its recordings not yet deleted there)
   *     and queues it, sealed to a one-time key, in `twilio_cleanup`; deletes the rows (the call's
   *     DELETE carries the hold predicate too) and writes the certificate, the hourly statistics
   *     and the audit entry, uncommitted; destroys the data key, last; and only then commits.
   *     While the locks are held no hold can be inserted for the call and no recording can arrive for it, and a reader that
   *     locks the call row in share mode (as records does) waits: so the hold check, the key's
   *     destruction and the queueing of the Twilio deletions cannot be separated by a new hold, and
   *     a reader sees the whole call or none of it. The key is destroyed before the row deletions
   *     are committed, because it is what destroys every other copy (binlog, backups).
   *  3. After the commit, the cleanup job deletes the queued resources at Twilio (404 counts as
   *     done), adds those steps to the certificates, then destroys the one-time key and the queue
   *     row. Nothing is deleted at Twilio before the hold was checked under lock, so a hold placed
   *     at any moment either came first (the call and its recordings are kept) or comes too late
   *     (the call is already destroyed). Twilio being slow or away delays only its own copies:
   *     the records are destroyed on time, and the SIDs wait sealed, not in plain, for Twilio.
   */
  async destroyMany(requests: SecureDeleteRequest[], now = this.clock.now()): Promise<SecureDeleteOutcome[]> {
    const unique = [...new Map(requests.map((r) => [r.callId, r])).values()];
    const results = new Map<string, SecureDeleteOutcome>();

    // The batch's one-time key for its Twilio SIDs is made first (the keystore is another
    // database); destroyed again if nothing is queued under it.
    const cleanupKey = this.cleanupKeys.create(1).then(([k]) => k);
    cleanupKey.catch(() => undefined);

    // Key, rows, certificate, audit, the Twilio cleanup queued: one transaction for the batch; one per call if that fails.
    const cleanups: string[] = [];
    try {
      await this.finish(unique, results, now, cleanups, cleanupKey).catch((e) =>
        // Batches side by side can deadlock on the rows they share (statistics, the audit head):
        // nothing was destroyed (the key goes last), so the batch is tried again, whole, once.
        isDeadlock(e) && unique.length > 1 ? this.finish(unique, results, now, cleanups) : Promise.reject(e),
      );
    } catch (e) {
      if (unique.length === 1) results.set(unique[0].callId, { callId: unique[0].callId, outcome: 'failed', error: e as Error });
      else {
        this.logger.warn({
          msg: 'batched secure deletion failed; finishing the calls one by one',
          calls: unique.length,
          error: (e as Error).name,
        });
        for (const r of unique) {
          try {
            await this.finish([r], results, now, cleanups);
          } catch (err) {
            results.set(r.callId, { callId: r.callId, outcome: 'failed', error: err as Error });
          }
        }
      }
    }

    // Twilio's copies, after the commit. If queueing the job fails, the reconciler queues the row again.
    for (const id of cleanups)
      await this.jobs
        .addTwilioCleanup(id)
        .catch((e) => this.logger.warn({ msg: 'Twilio cleanup not queued yet; the reconciler will', error: (e as Error).name }));

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

  private async finish(
    batch: SecureDeleteRequest[],
    results: Map<string, SecureDeleteOutcome>,
    now: Date,
    cleanups: string[],
    /**
     * The one-time key the batch's Twilio SIDs are sealed to (made before the transaction: the
     * keystore is another database); a new one when absent. Destroyed again unless the
     * transaction commits with something sealed to it.
     */
    madeKey?: Promise<PublishedContactKey>,
  ): Promise<void> {
    const done: SecureDeleteOutcome[] = [];
    const keyMade = madeKey ?? this.cleanupKeys.create(1).then(([k]) => k);
    let queued: string | undefined;
    try {
      const cleanupKey = await keyMade;
      await this.calls.transaction(async (m) => {
        const batchIds = batch.map((r) => r.callId);
        // Which keys exist is asked of the keystore while the records database takes its locks
        // (another connection; it only tells a certificate "done" from "already_done").
        const keysThere = this.keys.existing(batchIds);
        keysThere.catch(() => undefined);
        const { calls: lockedById, held, atTwilio, statistics } = await this.calls.lock(batchIds, m);
        const go: { req: SecureDeleteRequest; row: DestructionCandidate }[] = [];
        for (const req of batch) {
          const row = lockedById.get(req.callId);
          if (!row) continue; // deleted meanwhile: resolved as already_destroyed by the caller
          if (held.has(req.callId)) done.push({ callId: req.callId, outcome: 'held' });
          else if (req.reason === 'retention' && new Date(row.retentionDeadline) > now)
            done.push({ callId: req.callId, outcome: 'not_expired' });
          else go.push({ req, row });
        }
        if (!go.length) return;
        const goIds = go.map((g) => g.req.callId);
        // Steps of this attempt only: a rolled-back attempt must not leave its steps in the next one's certificate.
        const mine = new Map(
          goIds.map((id): [string, DeletionStep[]] => [id, [{ step: 'hold_check', outcome: 'done', at: new Date().toISOString() }]]),
        );
        const keyPresent = await keysThere;

        // What Twilio holds of these calls, sealed and queued with the deletion (committed with it, or neither).
        const { cleanupId, queuedFor } = await this.queueResidue(goIds, atTwilio, cleanupKey, now, m);

        // The call's DELETE carries the hold predicate too: if it ever keeps a call (it cannot while
        // the locks above hold), this throws and nothing of this batch commits.
        const counts = await this.calls.deleteRows(goIds, m);
        const at = new Date();
        // The tables rows were deleted from, with how many (a table not named had none of these calls').
        const summary = Object.entries({ calls: goIds.length, ...counts })
          .filter(([, n]) => n > 0)
          .map(([t, n]) => `${t}=${n}`)
          .join(' ');
        const certificates = certificatesFor(go, mine, { keyPresent, queuedFor, cleanupId, summary, at });
        await this.calls.writeCertificates(certificates, at, m);
        const entries = auditEntries(certificates);
        // The hourly statistics outlive the calls: those not yet counted are counted here (read
        // under the lock, before their rows went). The figures and the entries commit with the
        // deletion, or neither does. Late in the transaction, because they lock rows that every
        // writer shares (the hour's statistics, the head of the audit chain): held from here to
        // the commit only, batches running side by side queue on them briefly.
        await this.calls.addStatistics(statistics(goIds), m);
        await this.audit.appendMany(entries, m);

        // The key goes last, just before the commit, so it is gone for good before the row
        // deletions are (the commit below): if the keystore fails, nothing is deleted; if this
        // process dies between the two, the rows are unreadable already, and the next run
        // finishes them. Last, so that nothing that can still fail (a deadlock on the shared rows
        // above, say) comes between the key's destruction and the commit.
        await this.destroyKeys(goIds);
        queued = cleanupId;
        for (const c of certificates) done.push({ callId: c.callId, outcome: 'destroyed', certificateId: c.id });
      }, 'REPEATABLE READ');
    } finally {
      if (!queued) await this.dropKey(keyMade);
    }
    if (queued) cleanups.push(queued);
    for (const o of done) {
      results.set(o.callId, o);
      if (o.outcome === 'destroyed') retentionMetrics.deletions().inc({ reason: batch.find((r) => r.callId === o.callId)!.reason });
    }
  }

  /**
   * What Twilio still holds of the calls (their CallSids, legs, recordings, callback calls), sealed to
   * the one-time key and queued in `twilio_cleanup` inside the deletion's transaction `m`.
   */
  private async queueResidue(
    callIds: string[],
    atTwilio: Map<string, TwilioResidue>,
    cleanupKey: PublishedContactKey,
    now: Date,
    m: EntityManager,
  ): Promise<{ cleanupId: string | undefined; queuedFor: Set<string> }> {
    const residue: CleanupEntry[] = callIds
      .map((callId) => ({ callId, ...atTwilio.get(callId)! }))
      .filter((r) => r.callSid || r.recordingSids.length || r.outboundCallSids.length || r.legSids.length);
    const cleanupId = residue.length ? randomUUID() : undefined;
    if (cleanupId)
      await this.calls.queueTwilioCleanup(
        {
          id: cleanupId,
          contactKeyId: cleanupKey.id,
          sealed: sealContact(cleanupKey.key, JSON.stringify(residue), cleanupContext(cleanupId)),
          calls: residue.length,
        },
        now,
        m,
      );
    return { cleanupId, queuedFor: new Set(residue.map((r) => r.callId)) };
  }

  /** Destroys a one-time cleanup key that nothing was sealed to (if it was made at all). */
  private async dropKey(key: Promise<PublishedContactKey>): Promise<void> {
    const made = await key.catch(() => undefined);
    if (made) await this.cleanupKeys.destroy(made.id).catch(() => undefined);
  }

  /** The key store's destroy; for many keys, one statement and one commit. Idempotent. */
  private async destroyKeys(callIds: string[]): Promise<void> {
    if (callIds.length === 1) await this.keys.destroy(callIds[0]);
    else await this.keys.destroyMany(callIds);
  }
}

function isDeadlock(e: unknown): boolean {
  const err = e as { errno?: number; driverError?: { errno?: number } };
  return (err?.driverError?.errno ?? err?.errno) === 1213;
}

/** One destroyed call's resources at Twilio, as sealed in `twilio_cleanup`. */
export interface CleanupEntry {
  callId: string;
  callSid: string | null;
  recordingSids: string[];
  /** Callback and follow-up calls placed to the caller (absent in batches sealed before callbacks existed). */
  outboundCallSids?: string[];
  /**
   * The call's other legs on record (`call_legs`: conference participants, which have no parent at
   * Twilio, and callbacks' legs); absent in batches sealed before legs were kept.
   */
  legSids?: string[];
}

/** The sealing context of a cleanup row: a sealed batch opens only as the row it was written for. */
export function cleanupContext(cleanupId: string): string {
  return `twilio-cleanup:${cleanupId}`;
}

/** One certificate per destroyed call: this attempt's steps (hold checked, data key, rows, Twilio queued), its reason and policy. */
function certificatesFor(
  go: { req: SecureDeleteRequest; row: DestructionCandidate }[],
  steps: Map<string, DeletionStep[]>,
  o: { keyPresent: Set<string>; queuedFor: Set<string>; cleanupId: string | undefined; summary: string; at: Date },
): NewCertificate[] {
  const { keyPresent, queuedFor, cleanupId, summary, at } = o;
  return go.map(({ req, row }): NewCertificate => {
    const s = steps.get(req.callId)!;
    s.push({ step: 'data_key', outcome: keyPresent.has(req.callId) ? 'done' : 'already_done', at: at.toISOString() });
    s.push({
      step: 'rows',
      outcome: 'done',
      at: at.toISOString(),
      detail: go.length === 1 ? summary : `batch of ${go.length}: ${summary}`,
    });
    if (queuedFor.has(req.callId)) s.push({ step: 'twilio', outcome: 'queued', at: at.toISOString(), detail: `cleanup ${cleanupId}` });
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
}

/** The audit entries of the destroyed calls (`call.destroyed`, by the system): ids, reason and policy only. */
function auditEntries(certificates: NewCertificate[]) {
  return certificates.map((c) => ({
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
}
