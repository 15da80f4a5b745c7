import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { heldCall } from './legal-holds';

/** A recording still at Twilio (not yet marked deleted). */
export interface LiveRecording {
  id: string;
  callId: string;
  recordingSid: string;
}

/**
 * Recordings of calls: linked by the gateway (CallLifecycle), deleted at Twilio when their own
 * deadline passes, when the caller withdraws consent, or with their call; then marked deleted
 * here. A held call keeps its recordings.
 */
@Injectable()
export class CallRecordings {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Recordings past their own deadline on calls that are not (expired calls go whole, with
   * theirs), of unheld calls, oldest deadline first.
   */
  async expiredOfLiveCalls(now: Date, limit: number): Promise<LiveRecording[]> {
    const rows: { id: string; call_id: string; recording_sid: string }[] = await this.db.query(
      `SELECT r.id, r.call_id, r.recording_sid FROM recordings r JOIN calls c ON c.id = r.call_id
        WHERE r.deleted_at IS NULL AND r.retention_deadline <= ? AND c.retention_deadline > ? AND NOT ${heldCall('c.id')}
        ORDER BY r.retention_deadline LIMIT ?`,
      [now, now, limit],
    );
    return rows.map(toLive);
  }

  /** Recordings past their deadline by `before`, not yet deleted, on unheld calls (the report's overdue recordings). */
  async countExpired(before: Date): Promise<number> {
    const [{ n }] = await this.db.query(
      `SELECT COUNT(*) AS n FROM recordings r JOIN calls c ON c.id = r.call_id WHERE r.deleted_at IS NULL AND r.retention_deadline <= ? AND NOT ${heldCall('c.id')}`,
      [before],
    );
    return Number(n);
  }

  /**
   * Of these calls, the recordings still at Twilio whose recording consent was withdrawn (only
   * those, whatever the caller of this asks), each with whether a hold keeps it.
   */
  async withdrawnConsentOf(callIds: string[]): Promise<(LiveRecording & { held: boolean })[]> {
    if (!callIds.length) return [];
    const rows: { id: string; call_id: string; recording_sid: string; held: number }[] = await this.db.query(
      `SELECT r.id, r.call_id, r.recording_sid, ${heldCall('r.call_id')} AS held
         FROM recordings r
        WHERE r.call_id IN (?) AND r.deleted_at IS NULL
          AND EXISTS (SELECT 1 FROM consents c WHERE c.call_id = r.call_id AND c.kind = 'recording' AND c.withdrawn_at IS NOT NULL)`,
      [callIds],
    );
    return rows.map((r) => ({ ...toLive(r), held: Boolean(Number(r.held)) }));
  }

  /** Unheld calls with a recording still at Twilio although its consent was withdrawn (what the privacy reconciler re-queues). */
  async callsOwingWithdrawnDeletion(limit: number): Promise<string[]> {
    const rows: { call_id: string }[] = await this.db.query(
      `SELECT DISTINCT r.call_id FROM recordings r
         JOIN consents c ON c.call_id = r.call_id AND c.kind = 'recording' AND c.withdrawn_at IS NOT NULL
        WHERE r.deleted_at IS NULL
          AND NOT ${heldCall('r.call_id')}
        LIMIT ${Number(limit)}`,
    );
    return rows.map((r) => r.call_id);
  }

  /**
   * Locks the call's row (shared) for the rest of the transaction: a legal hold is placed with the
   * row locked exclusively, so none can appear between a check of the holds made after this and
   * the commit. False when the call is gone.
   */
  async lockCall(callId: string, tx: EntityManager): Promise<boolean> {
    return (await tx.query('SELECT id FROM calls WHERE id = ? LOCK IN SHARE MODE', [callId])).length > 0;
  }

  /** Marks the recording deleted at Twilio; true when this did it (false: it was marked already). */
  async markDeleted(recordingId: string, tx?: EntityManager, at = new Date()): Promise<boolean> {
    const res = await (tx ?? this.db).query('UPDATE recordings SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL', [at, recordingId]);
    return Number(res.affectedRows ?? 0) > 0;
  }
}

function toLive(r: { id: string; call_id: string; recording_sid: string }): LiveRecording {
  return { id: r.id, callId: r.call_id, recordingSid: r.recording_sid };
}
