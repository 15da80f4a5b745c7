import type { DeletionCertificate, DeletionStep } from './call.model';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ENV } from '@hotline/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { recordsDatabaseId } from '@hotline/persistence';
import { HOLD_IN_FORCE, heldCall } from './legal-holds';
import { COUNTED_COLUMNS, CountedCall, HourlyStatRow, addToHourlyStats, statisticsOf } from './hourly-stats';

/** Child tables in which only some calls have rows (overflow, callbacks, rescue, conferences): deleted from in one statement. */
export const SPARSE_CHILD_TABLES = [
  'call_overflow',
  'callbacks',
  'callback_attempts',
  'rescue_requests',
  'call_transfers',
  'call_access',
  'call_supervisions',
] as const;

/**
 * Child tables in which most calls have rows: deleted from one by one. `call_legs` (the Twilio legs
 * of a call in a conference) is one: every answered call has at least its operator's leg.
 */
const DENSE_CHILD_TABLES = ['notes', 'risk_assessments', 'consents', 'recordings', 'escalations', 'call_legs'] as const;

/** Rows that belong to a call, deleted with it (legal holds go too, but only lifted ones). */
export const CALL_CHILD_TABLES = [...DENSE_CHILD_TABLES, ...SPARSE_CHILD_TABLES] as const;
export type CallChildTable = (typeof CALL_CHILD_TABLES)[number];

/** Where rows written for a call after its destruction (e.g. a late recording callback) are looked for. */
export const STRAY_ROW_TABLES: readonly CallChildTable[] = [
  'notes',
  'risk_assessments',
  'consents',
  'escalations',
  'recordings',
  'call_legs',
];

export interface DestructionCandidate {
  callId: string;
  retentionPolicy: string;
  retentionDeadline: Date;
}

export interface RecordingToDelete {
  id: string;
  callId: string;
  recordingSid: string;
  deletedAt: Date | null;
}

/**
 * What Twilio still holds of a call when it is destroyed: the caller's leg (the legs a `<Dial>` of
 * it opened are found by their parent), the other legs on record (`call_legs`: conference
 * participants, which have no parent at Twilio), its recordings and the calls placed back to the caller.
 */
export interface TwilioResidue {
  callSid: string | null;
  recordingSids: string[];
  /** Calls placed from the hotline to the caller for this call (callback and follow-up attempts). */
  outboundCallSids: string[];
  /** The call's other legs at Twilio not yet deleted there (operators, transfer targets, supervisors, directory entries, callbacks' legs). */
  legSids: string[];
}

export interface TwilioCleanupRow {
  id: string;
  contactKeyId: string;
  sealed: Buffer;
  /** Calls of the batch already cleaned up at Twilio. */
  done: string[];
  attempts: number;
}

/** A certificate about to be written: as it will read, less the moment of destruction (written with the batch). */
export type NewCertificate = Omit<DeletionCertificate, 'destroyedAt' | 'steps'> & { steps: DeletionStep[] };

/**
 * The row steps of a call's destruction, for secure deletion and the reconciler (libs/retention):
 * what they read, lock and delete in the records database. The order of the steps, the keystore
 * and Twilio stay with secure deletion; this knows the tables.
 */
@Injectable()
export class CallDestructionSteps {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Optional() @Inject(ENV) private readonly env?: { SERVICE_LEVEL_SECONDS?: number },
  ) {}

  /** Runs `work` in one transaction of the records database (at `isolation` when given). */
  transaction<T>(work: (tx: EntityManager) => Promise<T>, isolation?: IsolationLevel): Promise<T> {
    return isolation ? this.db.transaction(isolation, work) : this.db.transaction(work);
  }

  /** Which records database this is (records_identity, made with the database): the keystore is paired with it. */
  async recordsDatabaseId(): Promise<string | null> {
    return recordsDatabaseId(this.db);
  }

  /** Every recording row of these calls, deleted at Twilio or not, oldest first. */
  async recordingsOf(callIds: string[]): Promise<RecordingToDelete[]> {
    const rows: { id: string; call_id: string; recording_sid: string; deleted_at: Date | null }[] = await this.db.query(
      'SELECT id, call_id, recording_sid, deleted_at FROM recordings WHERE call_id IN (?) ORDER BY created_at',
      [callIds],
    );
    return rows.map((r) => ({ id: r.id, callId: r.call_id, recordingSid: r.recording_sid, deletedAt: r.deleted_at }));
  }

  /**
   * The Twilio CallSid of each of these calls that has one (the caller's leg; the legs Twilio
   * opened for it are found at Twilio by their parent). Read before the row goes, which takes the
   * SID with it: after that nothing here could delete the call at Twilio.
   */
  async callSidsOf(callIds: string[], tx?: EntityManager): Promise<Map<string, string>> {
    if (!callIds.length) return new Map();
    const rows: { id: string; call_sid: string | null }[] = await (tx ?? this.db).query(
      'SELECT id, call_sid FROM calls WHERE id IN (?) AND call_sid IS NOT NULL',
      [callIds],
    );
    return new Map(rows.map((r) => [r.id, r.call_sid!]));
  }

  /** Remembers that these recordings are gone at Twilio (in `tx` when given). */
  async markRecordingsDeleted(recordingIds: string[], tx?: EntityManager, at = new Date()): Promise<void> {
    if (recordingIds.length)
      await (tx ?? this.db).query('UPDATE recordings SET deleted_at = ? WHERE id IN (?) AND deleted_at IS NULL', [at, recordingIds]);
  }

  /**
   * Before anything of these calls is deleted at Twilio: locks their rows in share mode, in id
   * order, until `tx` ends, and names the calls under a hold now. A hold is placed with the call row
   * locked exclusively, so none can appear between this answer and the end of `tx`: a recording is
   * deleted at Twilio only if no hold stood while it was.
   */
  async heldUnderLock(callIds: string[], tx: EntityManager): Promise<Set<string>> {
    await tx.query('SELECT id FROM calls WHERE id IN (?) ORDER BY id LOCK IN SHARE MODE', [callIds]);
    const rows: { call_id: string }[] = await tx.query(
      // A locking read: it waits for a hold being placed, and sees the newest committed holds.
      `SELECT DISTINCT call_id FROM legal_holds WHERE call_id IN (?) AND ${HOLD_IN_FORCE} LOCK IN SHARE MODE`,
      [callIds],
    );
    return new Set(rows.map((r) => r.call_id));
  }

  /**
   * Locks, in id order (two batches cannot deadlock on each other), the call rows, the calls'
   * range of the legal-hold index (a locking read locks the gaps too: no hold can be inserted for
   * these calls until `tx` ends), their recordings and their legs (none can arrive meanwhile).
   * Returns, with the calls, what Twilio still holds of each: the caller's CallSid, the legs and
   * the recordings not yet deleted there, read under those locks, for the cleanup that follows the commit.
   */
  async lock(
    callIds: string[],
    tx: EntityManager,
  ): Promise<{
    calls: Map<string, DestructionCandidate>;
    held: Set<string>;
    atTwilio: Map<string, TwilioResidue>;
    /** What these of the locked calls add to the hourly statistics (read under the lock: counted once). */
    statistics(callIds: string[]): HourlyStatRow[];
  }> {
    const locked: (CountedCall & { call_sid: string | null; retention_policy: string; retention_deadline: Date })[] = await tx.query(
      `SELECT c.id, c.call_sid, c.retention_policy, c.retention_deadline, ${COUNTED_COLUMNS}
         FROM calls c WHERE c.id IN (?) ORDER BY c.id FOR UPDATE`,
      [callIds],
    );
    const heldRows: { call_id: string }[] = await tx.query(
      `SELECT call_id FROM legal_holds WHERE call_id IN (?) AND ${HOLD_IN_FORCE} FOR UPDATE`,
      [callIds],
    );
    const recordingRows: { call_id: string; recording_sid: string; deleted_at: Date | null }[] = await tx.query(
      'SELECT call_id, recording_sid, deleted_at FROM recordings WHERE call_id IN (?) ORDER BY created_at FOR UPDATE',
      [callIds],
    );
    // The calls an operator placed back to the caller (callbacks, follow-ups): their records at Twilio hold the number too.
    const outbound: { call_id: string; twilio_call_sid: string }[] = await tx.query(
      'SELECT call_id, twilio_call_sid FROM callback_attempts WHERE call_id IN (?) AND twilio_call_sid IS NOT NULL FOR UPDATE',
      [callIds],
    );
    // The call's other legs at Twilio (a leg learnt now waits for these locks, or finds the call gone).
    const legs: { call_id: string; call_sid: string }[] = await tx.query(
      'SELECT call_id, call_sid FROM call_legs WHERE call_id IN (?) AND deleted_at IS NULL ORDER BY call_id, created_at FOR UPDATE',
      [callIds],
    );
    const atTwilio = new Map<string, TwilioResidue>(
      locked.map((r) => [r.id, { callSid: r.call_sid, recordingSids: [], outboundCallSids: [], legSids: [] }]),
    );
    for (const r of recordingRows) if (!r.deleted_at) atTwilio.get(r.call_id)?.recordingSids.push(r.recording_sid);
    for (const r of outbound) atTwilio.get(r.call_id)?.outboundCallSids.push(r.twilio_call_sid);
    for (const r of legs) atTwilio.get(r.call_id)?.legSids.push(r.call_sid);
    const serviceLevel = Number(this.env?.SERVICE_LEVEL_SECONDS ?? 30);
    return {
      calls: new Map(locked.map((r) => [r.id, candidate(r)])),
      held: new Set(heldRows.map((h) => h.call_id)),
      atTwilio,
      statistics: (ids) => {
        const wanted = new Set(ids);
        return statisticsOf(
          locked.filter((r) => wanted.has(r.id)),
          serviceLevel,
        );
      },
    };
  }

  /** Queues, in `tx`, what a destroyed batch leaves for Twilio (sealed; see the twilio_cleanup migration). */
  async queueTwilioCleanup(
    row: { id: string; contactKeyId: string; sealed: Buffer; calls: number },
    at: Date,
    tx: EntityManager,
  ): Promise<void> {
    await tx.query('INSERT INTO twilio_cleanup (id, contact_key_id, sealed, calls, created_at) VALUES (?, ?, ?, ?, ?)', [
      row.id,
      row.contactKeyId,
      row.sealed,
      row.calls,
      at,
    ]);
  }

  /** A queued Twilio cleanup, or null when it is done (or never was). */
  async twilioCleanup(id: string): Promise<TwilioCleanupRow | null> {
    const [r]: { id: string; contact_key_id: string; sealed: Buffer; done_call_ids: string | null; attempts: number }[] =
      await this.db.query('SELECT id, contact_key_id, sealed, done_call_ids, attempts FROM twilio_cleanup WHERE id = ?', [id]);
    if (!r) return null;
    return {
      id: r.id,
      contactKeyId: r.contact_key_id,
      sealed: Buffer.from(r.sealed),
      done: r.done_call_ids ? JSON.parse(r.done_call_ids) : [],
      attempts: r.attempts,
    };
  }

  /** Twilio cleanups queued before `before` and still there (their job lost, or failing): for the reconciler to queue again. */
  async twilioCleanupsBefore(before: Date, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query('SELECT id FROM twilio_cleanup WHERE created_at < ? ORDER BY created_at LIMIT ?', [
      before,
      limit,
    ]);
    return rows.map((r) => r.id);
  }

  /** How many Twilio cleanups are waiting, and since when (metrics, the retention report). */
  async twilioCleanupBacklog(): Promise<{ batches: number; calls: number; oldest: Date | null }> {
    const [r] = await this.db.query(
      'SELECT COUNT(*) AS batches, COALESCE(SUM(calls), 0) AS calls, MIN(created_at) AS oldest FROM twilio_cleanup',
    );
    return { batches: Number(r.batches), calls: Number(r.calls), oldest: r.oldest ? new Date(r.oldest) : null };
  }

  /**
   * After an attempt: the steps to add to the certificates (of the calls now cleaned up at Twilio,
   * and of those only partly, which Twilio would not finish yet), and the calls now done, recorded
   * together (a retry neither repeats a call nor its steps).
   */
  async twilioCleanupProgress(id: string, done: { callId: string; steps: DeletionStep[] }[], allDone: string[]): Promise<void> {
    await this.db.transaction(async (m) => {
      for (const d of done)
        await m.query('UPDATE deletion_certificates SET steps = JSON_MERGE_PRESERVE(steps, ?) WHERE call_id = ?', [
          JSON.stringify(d.steps),
          d.callId,
        ]);
      await m.query('UPDATE twilio_cleanup SET done_call_ids = ?, attempts = attempts + 1 WHERE id = ?', [JSON.stringify(allDone), id]);
    });
  }

  /**
   * The Twilio SIDs each of these destroyed calls' certificates already names as deleted there (the
   * steps of an earlier attempt of their cleanup): a cleanup tried again does not repeat them.
   */
  async deletedAtTwilioOf(callIds: string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    if (!callIds.length) return out;
    const rows: { call_id: string; steps: string | DeletionStep[] }[] = await this.db.query(
      'SELECT call_id, steps FROM deletion_certificates WHERE call_id IN (?)',
      [callIds],
    );
    for (const r of rows) {
      const steps = (typeof r.steps === 'string' ? JSON.parse(r.steps) : r.steps) as DeletionStep[];
      out.set(r.call_id, new Set(steps.filter((s) => s.step.endsWith('_at_twilio') && s.detail).map((s) => s.detail!)));
    }
    return out;
  }

  /** The cleanup is over (its key destroyed first): the row goes. */
  async deleteTwilioCleanup(id: string): Promise<void> {
    await this.db.query('DELETE FROM twilio_cleanup WHERE id = ?', [id]);
  }

  /**
   * Deletes the calls' rows (children, lifted holds, then the calls, whose DELETE carries the hold
   * predicate too) and returns the rows deleted per table (the sparse tables together, under one
   * name). Throws, so that nothing of `tx` commits, if the hold predicate kept any call (it cannot
   * while `lock`'s locks hold).
   */
  async deleteRows(callIds: string[], tx: EntityManager): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const t of DENSE_CHILD_TABLES) counts[t] = (await tx.query(`DELETE FROM ${t} WHERE call_id IN (?)`, [callIds])).affectedRows;
    // The tables only some calls have rows in, in one statement (one pass over the calls' ids
    // instead of one each): a multiple-table DELETE counts their rows together.
    const alias = (i: number) => `s${i}`;
    counts[SPARSE_CHILD_TABLES.join('+')] = (
      await tx.query(
        `DELETE ${SPARSE_CHILD_TABLES.map((_, i) => alias(i)).join(', ')} FROM calls c
          ${SPARSE_CHILD_TABLES.map((t, i) => `LEFT JOIN ${t} ${alias(i)} ON ${alias(i)}.call_id = c.id`).join('\n          ')}
          WHERE c.id IN (?)`,
        [callIds],
      )
    ).affectedRows;
    counts.legal_holds = (
      await tx.query(`DELETE FROM legal_holds WHERE call_id IN (?) AND NOT (${HOLD_IN_FORCE})`, [callIds])
    ).affectedRows;
    const deleted = await tx.query(`DELETE FROM calls WHERE id IN (?) AND NOT ${heldCall('calls.id')}`, [callIds]);
    if (deleted.affectedRows !== callIds.length)
      throw new Error(`hold predicate kept ${callIds.length - deleted.affectedRows} call(s): rolled back`);
    return counts;
  }

  /**
   * Adds destroyed calls' tallies to the hourly statistics, in `tx`. Its rows are shared by every
   * writer (the same hour, metric and bucket): called just before the commit, so that they are
   * locked from here to the commit only and batches side by side do not queue on them for longer.
   */
  addStatistics(increments: HourlyStatRow[], tx: EntityManager): Promise<void> {
    return addToHourlyStats(tx, increments);
  }

  /** The content-free certificates of destroyed calls, in `tx`. */
  async writeCertificates(certificates: NewCertificate[], destroyedAt: Date, tx: EntityManager): Promise<void> {
    if (!certificates.length) return;
    await tx.query(
      `INSERT INTO deletion_certificates (id, call_id, reason, retention_policy, retention_deadline, deletion_request_id, steps, destroyed_at) VALUES ${certificates.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      certificates.flatMap((c) => [
        c.id,
        c.callId,
        c.reason,
        c.retentionPolicy,
        c.retentionDeadline,
        c.deletionRequestId,
        JSON.stringify(c.steps),
        destroyedAt,
      ]),
    );
  }

  /** The certificate of each of these calls that has one, by call id. */
  async certificateIds(callIds: string[]): Promise<Map<string, string>> {
    if (!callIds.length) return new Map();
    const rows: { id: string; call_id: string }[] = await this.db.query(
      'SELECT id, call_id FROM deletion_certificates WHERE call_id IN (?)',
      [callIds],
    );
    return new Map(rows.map((c) => [c.call_id, c.id]));
  }

  /**
   * Of these data-key owner ids, those with a row: a call, or a complaint (whose text is sealed
   * under a data key of its own, so the reconciler must not take its key for an orphan).
   */
  async present(callIds: string[]): Promise<Set<string>> {
    if (!callIds.length) return new Set();
    const rows: { id: string }[] = await this.db.query(
      'SELECT id FROM calls WHERE id IN (?) UNION SELECT id FROM complaints WHERE id IN (?)',
      [callIds, callIds],
    );
    return new Set(rows.map((r) => r.id));
  }

  async isPresent(callId: string): Promise<boolean> {
    return (await this.present([callId])).size > 0;
  }

  /** Calls destroyed (certificate, no call row) that still have rows in `table`, up to `limit`. */
  async strayCallIds(table: CallChildTable, limit: number): Promise<string[]> {
    const rows: { call_id: string }[] = await this.db.query(
      `SELECT DISTINCT t.call_id FROM ${table} t JOIN deletion_certificates d ON d.call_id = t.call_id
        WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = t.call_id) LIMIT ?`,
      [limit],
    );
    return rows.map((r) => r.call_id);
  }

  /** SIDs of the call's legs not yet deleted at Twilio (a destroyed call's stray legs, for the reconciler). */
  async legSidsAtTwilio(callId: string): Promise<string[]> {
    const rows: { call_sid: string }[] = await this.db.query('SELECT call_sid FROM call_legs WHERE call_id = ? AND deleted_at IS NULL', [
      callId,
    ]);
    return rows.map((r) => r.call_sid);
  }

  /** SIDs of the call's recordings not yet deleted at Twilio. */
  async recordingSidsAtTwilio(callId: string): Promise<string[]> {
    const rows: { recording_sid: string }[] = await this.db.query(
      'SELECT id, recording_sid FROM recordings WHERE call_id = ? AND deleted_at IS NULL',
      [callId],
    );
    return rows.map((r) => r.recording_sid);
  }

  /** Deletes the call's rows in `table`, in `tx`, if its call row is (still) gone; the rows deleted. */
  async deleteStrayRows(table: CallChildTable, callId: string, tx: EntityManager): Promise<number> {
    const res = await tx.query(`DELETE FROM ${table} WHERE call_id = ? AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = ?)`, [
      callId,
      callId,
    ]);
    return Number(res.affectedRows ?? 0);
  }
}

function candidate(r: { id: string; retention_policy: string; retention_deadline: Date }): DestructionCandidate {
  return { callId: r.id, retentionPolicy: r.retention_policy, retentionDeadline: r.retention_deadline };
}
