import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Clock, systemClock } from '@hotline/clock';
import { KeystoreService } from '@hotline/crypto';
import { DeletionStep, KEYSTORE } from '@hotline/persistence';
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

/** A recording row appeared after the recordings were deleted at Twilio; the retry deletes it there first. */
export class RecordingArrivedError extends Error {
  constructor(readonly callId: string) {
    super(`a recording of call ${callId} arrived during its deletion; it is deleted at Twilio on the next attempt`);
    this.name = 'RecordingArrivedError';
  }
}

/** Rows that belong to a call, deleted with it. Legal holds go too, but only lifted ones. */
const CHILD_TABLES = ['notes', 'risk_assessments', 'consents', 'recordings', 'escalations'] as const;

interface CallRow {
  id: string;
  retention_policy: string;
  retention_deadline: Date;
}

const AUDIT_ACTOR = { actorId: null, actorRole: 'system' };

/**
 * Destroys calls so that it can be proven: recordings at Twilio, the data key (crypto-shredding:
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
    @InjectDataSource() private readonly db: DataSource,
    @InjectDataSource(KEYSTORE) private readonly keys: DataSource,
    private readonly keystore: KeystoreService,
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
   *  2. Delete the recordings at Twilio (404 counts as done). Twilio cannot take part in a MySQL
   *     transaction, so this goes first, outside any lock: if anything later fails, the retry finds
   *     them gone and moves on. A hold placed in the moment between 1 and 2 loses the recording
   *     but keeps the call and its key (3 re-checks).
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
    const rows: (CallRow & { held: number })[] = await this.db.query(
      `SELECT c.id, c.retention_policy, c.retention_deadline,
              EXISTS (SELECT 1 FROM legal_holds h WHERE h.call_id = c.id AND h.lifted_at IS NULL) AS held
         FROM calls c WHERE c.id IN (?)`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    let eligible: SecureDeleteRequest[] = [];
    for (const r of unique) {
      const row = byId.get(r.callId);
      if (!row) continue;
      if (Number(row.held)) results.set(r.callId, { callId: r.callId, outcome: 'held' });
      else if (r.reason === 'retention' && new Date(row.retention_deadline) > now) results.set(r.callId, { callId: r.callId, outcome: 'not_expired' });
      else {
        step(r.callId, 'hold_check', 'done');
        eligible.push(r);
      }
    }

    // 2. Recordings at Twilio.
    if (eligible.length) eligible = await this.deleteRecordingsAtTwilio(eligible, results, step);

    // 3. Key, rows, certificate, audit: one transaction for the batch; one per call if that fails.
    if (eligible.length) {
      try {
        await this.finish(eligible, steps, results, now);
      } catch (e) {
        if (eligible.length === 1) results.set(eligible[0].callId, { callId: eligible[0].callId, outcome: 'failed', error: e as Error });
        else {
          this.logger.warn({ msg: 'batched secure deletion failed; finishing the calls one by one', calls: eligible.length, error: (e as Error).name });
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
      const certs: { id: string; call_id: string }[] = await this.db.query('SELECT id, call_id FROM deletion_certificates WHERE call_id IN (?)', [unresolved]);
      const certOf = new Map(certs.map((c) => [c.call_id, c.id]));
      for (const callId of unresolved) {
        const certificateId = certOf.get(callId);
        results.set(callId, certificateId ? { callId, outcome: 'already_destroyed', certificateId } : { callId, outcome: 'not_found' });
      }
    }
    for (const o of results.values()) if (o.outcome === 'held') retentionMetrics.skippedHeld().inc();
    return requests.map((r) => results.get(r.callId)!);
  }

  private async deleteRecordingsAtTwilio(
    eligible: SecureDeleteRequest[],
    results: Map<string, SecureDeleteOutcome>,
    step: (callId: string, name: string, outcome: DeletionStep['outcome'], detail?: string) => void,
  ): Promise<SecureDeleteRequest[]> {
    const recordings: { id: string; call_id: string; recording_sid: string; deleted_at: Date | null }[] = await this.db.query(
      'SELECT id, call_id, recording_sid, deleted_at FROM recordings WHERE call_id IN (?) ORDER BY created_at',
      [eligible.map((r) => r.callId)],
    );
    const failed = new Map<string, Error>();
    const deletedIds: string[] = [];
    await forEachLimited(recordings, 32, async (rec) => {
      if (rec.deleted_at) return step(rec.call_id, 'recording_at_twilio', 'already_done', rec.recording_sid);
      try {
        const outcome = await this.twilio.deleteRecording(rec.recording_sid);
        deletedIds.push(rec.id);
        step(rec.call_id, 'recording_at_twilio', outcome === 'deleted' ? 'done' : 'already_done', rec.recording_sid);
      } catch (e) {
        failed.set(rec.call_id, e as Error);
      }
    });
    // Remembered at once, so a held call (or a retry) knows its recording is gone at Twilio.
    if (deletedIds.length) await this.db.query('UPDATE recordings SET deleted_at = ? WHERE id IN (?) AND deleted_at IS NULL', [new Date(), deletedIds]);
    for (const [callId, error] of failed) results.set(callId, { callId, outcome: 'failed', error });
    return eligible.filter((r) => !failed.has(r.callId));
  }

  private async finish(batch: SecureDeleteRequest[], steps: Map<string, DeletionStep[]>, results: Map<string, SecureDeleteOutcome>, now: Date): Promise<void> {
    const done: SecureDeleteOutcome[] = [];
    await this.db.transaction('REPEATABLE READ', async (m) => {
      const ids = batch.map((r) => r.callId);
      // Locks, in id order so that two batches cannot deadlock on each other.
      const locked: CallRow[] = await m.query('SELECT id, retention_policy, retention_deadline FROM calls WHERE id IN (?) ORDER BY id FOR UPDATE', [ids]);
      // A locking read of the hold index range: it also locks the gaps, so no hold can be inserted
      // for these calls until this transaction ends.
      const heldRows: { call_id: string }[] = await m.query('SELECT call_id FROM legal_holds WHERE call_id IN (?) AND lifted_at IS NULL FOR UPDATE', [ids]);
      const held = new Set(heldRows.map((h) => h.call_id));
      // A recording that arrived after step 2 (a late status callback) is still at Twilio: its row
      // must not go before it does. Locked likewise, so none can arrive until this commits.
      const liveRows: { call_id: string }[] = await m.query('SELECT call_id FROM recordings WHERE call_id IN (?) AND deleted_at IS NULL FOR UPDATE', [ids]);
      const liveRecording = new Set(liveRows.map((r) => r.call_id));
      const lockedById = new Map(locked.map((c) => [c.id, c]));
      const go: { req: SecureDeleteRequest; row: CallRow }[] = [];
      for (const req of batch) {
        const row = lockedById.get(req.callId);
        if (!row) continue; // deleted meanwhile: resolved as already_destroyed by the caller
        if (held.has(req.callId)) done.push({ callId: req.callId, outcome: 'held' });
        else if (req.reason === 'retention' && new Date(row.retention_deadline) > now) done.push({ callId: req.callId, outcome: 'not_expired' });
        else if (liveRecording.has(req.callId)) done.push({ callId: req.callId, outcome: 'failed', error: new RecordingArrivedError(req.callId) });
        else go.push({ req, row });
      }
      if (!go.length) return;
      const goIds = go.map((g) => g.req.callId);
      // Steps of this attempt only: a rolled-back attempt must not leave its steps in the next one's certificate.
      const mine = new Map(goIds.map((id) => [id, [...steps.get(id)!, { step: 'hold_recheck', outcome: 'done' as const, at: new Date().toISOString() }]]));
      const keyPresent = new Set((await this.keys.query('SELECT call_id FROM data_keys WHERE call_id IN (?)', [goIds])).map((r: { call_id: string }) => r.call_id));

      const counts: Record<string, number> = {};
      for (const t of CHILD_TABLES) counts[t] = (await m.query(`DELETE FROM ${t} WHERE call_id IN (?)`, [goIds])).affectedRows;
      counts.legal_holds = (await m.query('DELETE FROM legal_holds WHERE call_id IN (?) AND lifted_at IS NOT NULL', [goIds])).affectedRows;
      const deleted = await m.query(
        'DELETE FROM calls WHERE id IN (?) AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.call_id = calls.id AND h.lifted_at IS NULL)',
        [goIds],
      );
      // Cannot happen while the locks above hold; if it ever does, nothing of this batch commits.
      if (deleted.affectedRows !== goIds.length) throw new Error(`hold predicate kept ${goIds.length - deleted.affectedRows} call(s): rolled back`);
      const at = new Date();
      const summary = Object.entries(counts).map(([t, n]) => `${t}=${n}`).join(' ');
      const certificates = go.map(({ req, row }) => {
        const s = mine.get(req.callId)!;
        s.push({ step: 'data_key', outcome: keyPresent.has(req.callId) ? 'done' : 'already_done', at: at.toISOString() });
        s.push({ step: 'rows', outcome: 'done', at: at.toISOString(), detail: go.length === 1 ? summary : `batch of ${go.length}: ${summary}` });
        return { id: randomUUID(), req, row, steps: s };
      });
      await m.query(
        `INSERT INTO deletion_certificates (id, call_id, reason, retention_policy, retention_deadline, deletion_request_id, steps, destroyed_at) VALUES ${certificates.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        certificates.flatMap((c) => [c.id, c.req.callId, c.req.reason, c.row.retention_policy, c.row.retention_deadline, c.req.deletionRequestId ?? null, JSON.stringify(c.steps), at]),
      );
      const entries = certificates.map((c) => ({
        ...AUDIT_ACTOR,
        action: 'call.destroyed',
        targetType: 'call',
        targetId: c.req.callId,
        detail: { reason: c.req.reason, retentionPolicy: c.row.retention_policy, certificateId: c.id, ...(c.req.deletionRequestId ? { deletionRequestId: c.req.deletionRequestId } : {}) },
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
      for (const c of certificates) done.push({ callId: c.req.callId, outcome: 'destroyed', certificateId: c.id });
    });
    for (const o of done) {
      results.set(o.callId, o);
      if (o.outcome === 'destroyed') retentionMetrics.deletions().inc({ reason: batch.find((r) => r.callId === o.callId)!.reason });
    }
  }

  /** The keystore port's destroy; for many keys, one statement and one commit. Idempotent. */
  private async destroyKeys(callIds: string[]): Promise<void> {
    if (callIds.length === 1) {
      await this.keystore.destroy(callIds[0]);
      return;
    }
    for (const id of callIds) this.keystore.evict(id);
    await this.keys.query('DELETE FROM data_keys WHERE call_id IN (?)', [callIds]);
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
