import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { RiskLevel } from '@hotline/contract';
import { heldCall } from './legal-holds';

/**
 * The call record seen from one caller, by their keyed pseudonym (never a number): the returning
 * caller's hint, what the privacy line tells them, the calls a deletion request covers, and the
 * consent they withdraw.
 */
@Injectable()
export class CallerRecords {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** How many other calls this caller made, and the risk level of the latest: nothing more. */
  async history(pseudonym: string, exceptCallId: string): Promise<{ earlierCalls: number; lastRiskLevel: RiskLevel | null }> {
    const [count] = await this.db.query('SELECT COUNT(*) AS n FROM calls WHERE caller_pseudonym = ? AND id <> ?', [
      pseudonym,
      exceptCallId,
    ]);
    const [last] = await this.db.query(
      'SELECT risk_level FROM calls WHERE caller_pseudonym = ? AND id <> ? ORDER BY started_at DESC LIMIT 1',
      [pseudonym, exceptCallId],
    );
    return { earlierCalls: Number(count?.n ?? 0), lastRiskLevel: (last?.risk_level as RiskLevel) ?? null };
  }

  /** Calls on record for this caller, and how many of them a legal hold keeps. */
  async counts(pseudonym: string): Promise<{ total: number; held: number }> {
    const [row] = await this.db.query(
      `SELECT COUNT(*) AS total, COALESCE(SUM(${heldCall('c.id')}), 0) AS held FROM calls c WHERE c.caller_pseudonym = ?`,
      [pseudonym],
    );
    return { total: Number(row.total), held: Number(row.held) };
  }

  /** Every call of this caller, by id. */
  async callIds(pseudonym: string): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query('SELECT id FROM calls WHERE caller_pseudonym = ? ORDER BY id', [pseudonym]);
    return rows.map((r) => r.id);
  }

  /** How many calls a deletion request destroyed (their deletion certificates name it). */
  async destroyedForRequest(deletionRequestId: string): Promise<number> {
    const [{ n }] = await this.db.query('SELECT COUNT(*) AS n FROM deletion_certificates WHERE deletion_request_id = ?', [
      deletionRequestId,
    ]);
    return Number(n);
  }

  /**
   * Marks every recording consent this caller gave as withdrawn (in the caller's transaction), and
   * returns how many, with the calls whose recordings are still at Twilio (to be deleted there).
   */
  async withdrawRecordingConsent(
    pseudonym: string,
    at: Date,
    tx: EntityManager,
  ): Promise<{ withdrawn: number; callsWithRecordings: string[] }> {
    const res = await tx.query(
      "UPDATE consents SET withdrawn_at = ? WHERE caller_pseudonym = ? AND kind = 'recording' AND granted = 1 AND withdrawn_at IS NULL",
      [at, pseudonym],
    );
    const calls: { id: string }[] = await tx.query(
      'SELECT DISTINCT r.call_id AS id FROM recordings r JOIN calls c ON c.id = r.call_id WHERE c.caller_pseudonym = ? AND r.deleted_at IS NULL',
      [pseudonym],
    );
    return { withdrawn: Number(res.affectedRows ?? 0), callsWithRecordings: calls.map((r) => r.id) };
  }
}
