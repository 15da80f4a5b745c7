import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { AuditService } from '@hotline/audit';
import { CallDestructionSteps, DestructionCandidate, NewCertificate } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { ContactKeys, DataKeyStore, sealContact } from '@hotline/crypto';
import { RetentionJobs } from '@hotline/jobs';
import type { DeletionStep } from '@hotline/persistence';
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

/** Twilio would not delete the call yet (it is still in progress: 400/409); the cleanup's retry tries again once it has ended. */
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
 * (the call, every leg Twilio opened for it, its recordings: the caller's number, times and
 * duration) by `TwilioCleanupService`. Every step is safe to repeat, so a job killed at any point
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
   *  1. A first look, without locks: present, held, expired. A held call is left alone.
   *  2. One records transaction that locks the call rows, the calls' range of the legal-hold index
   *     and their recordings, then re-checks the hold and the deadline; reads under those locks
   *     what Twilio still holds of each call (its CallSid, its recordings not yet deleted there)
   *     and queues it, sealed to a one-time key, in `twilio_cleanup`; deletes the rows (the call's
   *     DELETE carries the hold predicate too) and writes the certificate and the audit entry,
   *     uncommitted; destroys the data key; and only then commits. While the locks are held no
   *     hold can be inserted for the call and no recording can arrive for it, and a reader that
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
    const steps = new Map<string, DeletionStep[]>(unique.map((r) => [r.callId, []]));
    const step = (callId: string, name: string, outcome: DeletionStep['outcome'], detail?: string) =>
      steps.get(callId)!.push({ step: name, outcome, at: new Date().toISOString(), ...(detail ? { detail } : {}) });

    // 1. First look: present, held, expired.
    const ids = unique.map((r) => r.callId);
    const byId = await this.calls.firstLook(ids);
    const eligible: SecureDeleteRequest[] = [];
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

    // 2. Key, rows, certificate, audit, the Twilio cleanup queued: one transaction for the batch; one per call if that fails.
    const cleanups: string[] = [];
    if (eligible.length) {
      try {
        await this.finish(eligible, steps, results, now, cleanups);
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
              await this.finish([r], steps, results, now, cleanups);
            } catch (err) {
              results.set(r.callId, { callId: r.callId, outcome: 'failed', error: err as Error });
            }
          }
        }
      }
    }

    // 3. Twilio's copies, after the commit. If queueing the job fails, the reconciler queues the row again.
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
    steps: Map<string, DeletionStep[]>,
    results: Map<string, SecureDeleteOutcome>,
    now: Date,
    cleanups: string[],
  ): Promise<void> {
    const done: SecureDeleteOutcome[] = [];
    // The one-time key the batch's Twilio SIDs are sealed to, made before the transaction (the
    // keystore is another database); destroyed again if the transaction does not commit.
    const [cleanupKey] = await this.cleanupKeys.create(1);
    let queued: string | undefined;
    try {
      await this.calls.transaction(async (m) => {
        const {
          calls: lockedById,
          held,
          atTwilio,
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
          else go.push({ req, row });
        }
        if (!go.length) return;
        const goIds = go.map((g) => g.req.callId);
        // Steps of this attempt only: a rolled-back attempt must not leave its steps in the next one's certificate.
        const mine = new Map(
          goIds.map((id) => [id, [...steps.get(id)!, { step: 'hold_recheck', outcome: 'done' as const, at: new Date().toISOString() }]]),
        );
        const keyPresent = await this.keys.existing(goIds);

        // What Twilio holds of these calls, sealed and queued with the deletion (committed with it, or neither).
        const residue: CleanupEntry[] = go
          .map(({ req }) => ({ callId: req.callId, ...atTwilio.get(req.callId)! }))
          .filter((r) => r.callSid || r.recordingSids.length || r.outboundCallSids.length);
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
        const queuedFor = new Set(residue.map((r) => r.callId));

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
          if (queuedFor.has(req.callId))
            s.push({ step: 'twilio', outcome: 'queued', at: at.toISOString(), detail: `cleanup ${cleanupId}` });
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
        queued = cleanupId;
        for (const c of certificates) done.push({ callId: c.callId, outcome: 'destroyed', certificateId: c.id });
      }, 'REPEATABLE READ');
    } finally {
      if (!queued) await this.cleanupKeys.destroy(cleanupKey.id).catch(() => undefined);
    }
    if (queued) cleanups.push(queued);
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

/** One destroyed call's resources at Twilio, as sealed in `twilio_cleanup`. */
export interface CleanupEntry {
  callId: string;
  callSid: string | null;
  recordingSids: string[];
  /** Callback and follow-up calls placed to the caller (absent in batches sealed before callbacks existed). */
  outboundCallSids?: string[];
}

/** The sealing context of a cleanup row: a sealed batch opens only as the row it was written for. */
export function cleanupContext(cleanupId: string): string {
  return `twilio-cleanup:${cleanupId}`;
}
