import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * Other work an operator holds besides their calls (pending callbacks, follow-ups: issue 15), moved
 * with their calls in the same transaction. Provide implementations under HANDOVER_TASKS; each
 * says what kind of task it moved and how many (ids only, for the audit entry).
 */
export interface HandoverTasks {
  readonly kind: string;
  move(fromOperatorId: string, toOperatorId: string, callIds: string[], m: EntityManager): Promise<number>;
}
export const HANDOVER_TASKS = Symbol('HANDOVER_TASKS');

/**
 * Need-to-know access to a call follows `calls.operator_id` (CallsService reads it on every request):
 * moving it moves access, at once. Only calls that have ended move: a live call stays with the
 * operator who is on the line with the caller. Who handled a call before stays in the audit trail
 * and on each note (author).
 */
@Injectable()
export class CallHandover {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Within `m`, locks and moves `fromOperatorId`'s ended calls (all, or those of `callIds`) to
   * `toOperatorId`. Returns the calls moved and those asked for that could not be (not theirs, live, gone).
   */
  async reassign(
    fromOperatorId: string,
    toOperatorId: string,
    callIds: string[] | 'all',
    m: EntityManager,
  ): Promise<{ moved: string[]; refused: string[] }> {
    const rows: { id: string }[] =
      callIds === 'all'
        ? await m.query('SELECT id FROM calls WHERE operator_id = ? AND ended_at IS NOT NULL ORDER BY started_at FOR UPDATE', [
            fromOperatorId,
          ])
        : callIds.length
          ? await m.query(
              `SELECT id FROM calls WHERE operator_id = ? AND ended_at IS NOT NULL AND id IN (${callIds.map(() => '?').join(', ')}) ORDER BY started_at FOR UPDATE`,
              [fromOperatorId, ...callIds],
            )
          : [];
    const moved = rows.map((r) => r.id);
    if (moved.length)
      await m.query(`UPDATE calls SET operator_id = ? WHERE id IN (${moved.map(() => '?').join(', ')})`, [toOperatorId, ...moved]);
    const refused = callIds === 'all' ? [] : callIds.filter((id) => !moved.includes(id));
    return { moved, refused };
  }

  /** Keeps, in `m`, the record of a handover (its reason is kept here only; the audit entry carries its id). */
  async recordHandover(
    h: { id: string; fromOperatorId: string; toOperatorId: string; byStaffId: string; reason: string; callsMoved: number; at: Date },
    m: EntityManager,
  ): Promise<void> {
    await m.query(
      'INSERT INTO handovers (id, from_operator_id, to_operator_id, by_staff_id, reason, calls_moved, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [h.id, h.fromOperatorId, h.toOperatorId, h.byStaffId, h.reason, h.callsMoved, h.at],
    );
  }

  /** The ended calls an operator holds, newest first (metadata only, for the supervisor choosing what to hand over). */
  async held(operatorId: string): Promise<{ callId: string; startedAt: Date; endedAt: Date; riskLevel: string }[]> {
    const rows = await this.db.query(
      'SELECT id, started_at, ended_at, risk_level FROM calls WHERE operator_id = ? AND ended_at IS NOT NULL ORDER BY started_at DESC LIMIT 1000',
      [operatorId],
    );
    return rows.map((r: any) => ({
      callId: r.id,
      startedAt: new Date(r.started_at),
      endedAt: new Date(r.ended_at),
      riskLevel: r.risk_level,
    }));
  }

  /** How many ended and live calls each operator holds. */
  async counts(): Promise<Map<string, { ended: number; live: number }>> {
    const rows: { operator_id: string; ended: string; live: string }[] = await this.db.query(
      'SELECT operator_id, SUM(ended_at IS NOT NULL) AS ended, SUM(ended_at IS NULL) AS live FROM calls WHERE operator_id IS NOT NULL GROUP BY operator_id',
    );
    return new Map(rows.map((r) => [r.operator_id, { ended: Number(r.ended), live: Number(r.live) }]));
  }
}
