import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { heldCall } from './legal-holds';

export interface ExpiredCursor {
  deadline: Date;
  id: string;
}

const UNHELD = `NOT ${heldCall('c.id')}`;

/** Calls against their retention deadlines: what the retention scan pages through and the report counts. */
@Injectable()
export class CallRetention {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * One page of expired, unheld calls, oldest deadline first, after `cursor` (keyset paging on
   * the deadline index, so a scan over millions of rows never re-reads or skips one).
   */
  async expiredPage(now: Date, limit: number, cursor?: ExpiredCursor): Promise<{ ids: string[]; next?: ExpiredCursor }> {
    const rows: { id: string; retention_deadline: Date }[] = cursor
      ? await this.db.query(
          `SELECT c.id, c.retention_deadline FROM calls c
            WHERE c.retention_deadline <= ? AND (c.retention_deadline > ? OR (c.retention_deadline = ? AND c.id > ?)) AND ${UNHELD}
            ORDER BY c.retention_deadline, c.id LIMIT ?`,
          [now, cursor.deadline, cursor.deadline, cursor.id, limit],
        )
      : await this.db.query(
          `SELECT c.id, c.retention_deadline FROM calls c WHERE c.retention_deadline <= ? AND ${UNHELD} ORDER BY c.retention_deadline, c.id LIMIT ?`,
          [now, limit],
        );
    const last = rows[rows.length - 1];
    return { ids: rows.map((r) => r.id), next: rows.length === limit ? { deadline: last.retention_deadline, id: last.id } : undefined };
  }

  /** Expired, unheld calls still present whose deadline passed before `before`. */
  async countExpired(before: Date): Promise<number> {
    const [{ n }] = await this.db.query(`SELECT COUNT(*) AS n FROM calls c WHERE c.retention_deadline <= ? AND ${UNHELD}`, [before]);
    return Number(n);
  }

  /** Calls per retention policy, and how many of them are held. */
  async countByPolicy(): Promise<{ policy: string; calls: number; held: number }[]> {
    const rows: { policy: string; calls: number; held: number }[] = await this.db.query(
      `SELECT c.retention_policy AS policy, COUNT(*) AS calls, SUM(${heldCall('c.id')}) AS held FROM calls c GROUP BY c.retention_policy`,
    );
    return rows.map((r) => ({ policy: r.policy, calls: Number(r.calls), held: Number(r.held) }));
  }

  /** The oldest call under this policy that no hold keeps, or null. */
  async oldestUnheld(policy: string): Promise<{ startedAt: Date; retentionDeadline: Date } | null> {
    const [row] = await this.db.query(
      `SELECT c.started_at, c.retention_deadline FROM calls c WHERE c.retention_policy = ? AND ${UNHELD} ORDER BY c.started_at LIMIT 1`,
      [policy],
    );
    return row ? { startedAt: new Date(row.started_at), retentionDeadline: new Date(row.retention_deadline) } : null;
  }

  /** Deletion certificates written since `week`, per reason, and of them since `day`. */
  async certificatesByReasonSince(since: { day: Date; week: Date }): Promise<{ reason: string; week: number; day: number }[]> {
    const rows: { reason: string; week: number; day: number }[] = await this.db.query(
      'SELECT reason, COUNT(*) AS week, SUM(destroyed_at >= ?) AS day FROM deletion_certificates WHERE destroyed_at >= ? GROUP BY reason',
      [since.day, since.week],
    );
    return rows.map((r) => ({ reason: r.reason, week: Number(r.week), day: Number(r.day) }));
  }
}
