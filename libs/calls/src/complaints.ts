import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { ComplaintStatus } from '@hotline/contract';

/** A complaint as stored, without its text (sealed in `body_enc`, read by `sealedText`). */
export interface ComplaintRow {
  id: string;
  receivedAt: Date;
  receivedVia: string;
  callId: string | null;
  staffId: string | null;
  category: string;
  status: ComplaintStatus;
  dueAt: Date;
  recordedBy: string;
  updatedAt: Date;
  resolvedAt: Date | null;
}

export interface ComplaintInsert {
  id: string;
  receivedAt: Date;
  receivedVia: string;
  callId: string | null;
  staffId: string | null;
  category: string;
  sealedText: Buffer;
  dueAt: Date;
  recordedBy: string;
  recordedRole: string;
  at: Date;
}

const COLUMNS = 'id, received_at, received_via, call_id, staff_id, category, status, due_at, recorded_by, updated_at, resolved_at';

/**
 * The complaints table (records' ComplaintsService holds the workflow, the cipher and the audit):
 * rows in, rows out. A complaint is destroyed with the calls' retention sweep like a call
 * (destruction-steps), which is why it lives beside them.
 */
@Injectable()
export class ComplaintBook {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Runs `work` in one transaction of the records database. */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** A new complaint, status `received`, in `tx`. */
  async insert(c: ComplaintInsert, tx: EntityManager): Promise<void> {
    await tx.query(
      `INSERT INTO complaints (id, received_at, received_via, call_id, staff_id, category, body_enc, status, due_at, recorded_by, recorded_role, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)`,
      [c.id, c.receivedAt, c.receivedVia, c.callId, c.staffId, c.category, c.sealedText, c.dueAt, c.recordedBy, c.recordedRole, c.at],
    );
  }

  /** Up to 500 complaints not about `notAboutStaffId` (of that status when given): open ones first, soonest due first. */
  async list(notAboutStaffId: string, status?: ComplaintStatus): Promise<ComplaintRow[]> {
    const rows: any[] = await this.db.query(
      `SELECT ${COLUMNS} FROM complaints WHERE (staff_id IS NULL OR staff_id <> ?) ${status ? 'AND status = ?' : ''}
        ORDER BY status = 'resolved', due_at LIMIT 500`,
      status ? [notAboutStaffId, status] : [notAboutStaffId],
    );
    return rows.map(toRow);
  }

  /** The complaint, or null; locked for update when `tx` is given. */
  async find(id: string, tx?: EntityManager): Promise<ComplaintRow | null> {
    const [row] = await (tx ?? this.db).query(`SELECT ${COLUMNS} FROM complaints WHERE id = ?${tx ? ' FOR UPDATE' : ''}`, [id]);
    return row ? toRow(row) : null;
  }

  /** The complaint's sealed text (ContentCipher opens it), or null. */
  async sealedText(id: string): Promise<Buffer | null> {
    const [row] = await this.db.query('SELECT body_enc FROM complaints WHERE id = ?', [id]);
    return row ? row.body_enc : null;
  }

  /** Moves the complaint to `status`, in `tx`. */
  async setStatus(
    id: string,
    s: { status: ComplaintStatus; dueAt: Date; updatedAt: Date; resolvedAt: Date | null },
    tx: EntityManager,
  ): Promise<void> {
    await tx.query('UPDATE complaints SET status = ?, due_at = ?, updated_at = ?, resolved_at = ? WHERE id = ?', [
      s.status,
      s.dueAt,
      s.updatedAt,
      s.resolvedAt,
      id,
    ]);
  }
}

function toRow(r: any): ComplaintRow {
  return {
    id: r.id,
    receivedAt: new Date(r.received_at),
    receivedVia: r.received_via,
    callId: r.call_id,
    staffId: r.staff_id,
    category: r.category,
    status: r.status,
    dueAt: new Date(r.due_at),
    recordedBy: r.recorded_by,
    updatedAt: new Date(r.updated_at),
    resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
  };
}
