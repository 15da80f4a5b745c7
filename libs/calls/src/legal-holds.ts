import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';

/** The records database, or a transaction's manager on it. */
export type Db = DataSource | EntityManager;

/**
 * THE definition of a legal hold in force: placed and not lifted. Every query of the call record
 * that asks "is this call held?" is built from this (and from `heldCall` below), nowhere else.
 */
export const HOLD_IN_FORCE = 'lifted_at IS NULL';

/**
 * SQL that is true when a hold is in force on the call whose id is `callIdSql` (a column such as
 * `c.id`, or a `?` placeholder).
 */
export function heldCall(callIdSql: string): string {
  return `EXISTS (SELECT 1 FROM legal_holds h WHERE h.call_id = ${callIdSql} AND h.${HOLD_IN_FORCE})`;
}

/**
 * Legal holds: placed and lifted by records officers, in force until lifted. A held call is kept
 * whole (recordings included) whatever its deadline or its caller's request.
 */
@Injectable()
export class LegalHolds {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The hold in force on the call (the oldest, if ever more than one), or null. */
  async inForce(callId: string, tx?: EntityManager): Promise<{ id: string; placedAt: Date } | null> {
    const [row] = await (tx ?? this.db).query(
      `SELECT id, placed_at FROM legal_holds WHERE call_id = ? AND ${HOLD_IN_FORCE} ORDER BY placed_at LIMIT 1`,
      [callId],
    );
    return row ? { id: row.id, placedAt: new Date(row.placed_at) } : null;
  }

  /** `locking`: a locking read in `tx` (waits for a hold being placed; sees the newest committed one). */
  async isHeld(callId: string, tx?: EntityManager, locking = false): Promise<boolean> {
    const rows = await (tx ?? this.db).query(
      `SELECT 1 AS held FROM legal_holds WHERE call_id = ? AND ${HOLD_IN_FORCE} LIMIT 1${locking && tx ? ' LOCK IN SHARE MODE' : ''}`,
      [callId],
    );
    return rows.length > 0;
  }

  /** Call with the call row locked (CallRepository.lockExclusive): the row first, then the holds, as secure deletion does. */
  async place(callId: string, reason: string, placedBy: string, tx: EntityManager): Promise<{ id: string; placedAt: Date }> {
    const id = randomUUID();
    const placedAt = new Date();
    await tx.query('INSERT INTO legal_holds (id, call_id, reason, placed_by, placed_at) VALUES (?, ?, ?, ?, ?)', [
      id,
      callId,
      reason,
      placedBy,
      placedAt,
    ]);
    return { id, placedAt };
  }

  /** Lifts every hold in force on the call; the one `inForce` named, or null when none was. */
  async lift(callId: string, liftedBy: string, tx: EntityManager): Promise<{ id: string; liftedAt: Date } | null> {
    const hold = await this.inForce(callId, tx);
    if (!hold) return null;
    const liftedAt = new Date();
    await tx.query(`UPDATE legal_holds SET lifted_by = ?, lifted_at = ? WHERE call_id = ? AND ${HOLD_IN_FORCE}`, [
      liftedBy,
      liftedAt,
      callId,
    ]);
    return { id: hold.id, liftedAt };
  }

  /** Holds in force, and the calls they keep (the retention report). */
  async countInForce(): Promise<{ holds: number; calls: number }> {
    const [row] = await this.db.query(`SELECT COUNT(*) AS holds, COUNT(DISTINCT call_id) AS calls FROM legal_holds WHERE ${HOLD_IN_FORCE}`);
    return { holds: Number(row.holds), calls: Number(row.calls) };
  }

  /** Held calls that have encrypted content (notes or escalations): the reconciler checks each has its key. */
  async heldCallsWithContent(): Promise<string[]> {
    const rows: { call_id: string }[] = await this.db.query(
      `SELECT DISTINCT h.call_id FROM legal_holds h
        WHERE h.${HOLD_IN_FORCE} AND (EXISTS (SELECT 1 FROM notes n WHERE n.call_id = h.call_id) OR EXISTS (SELECT 1 FROM escalations e WHERE e.call_id = h.call_id))`,
    );
    return rows.map((r) => r.call_id);
  }
}
