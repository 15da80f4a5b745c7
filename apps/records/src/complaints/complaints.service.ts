import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import { HourlyStats } from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { ContentCipher } from '@hotline/crypto';

export const COMPLAINT_CHANNELS = ['phone', 'email', 'letter', 'in_person', 'other'] as const;
export const COMPLAINT_CATEGORIES = ['conduct', 'service', 'privacy', 'access', 'other'] as const;
export const COMPLAINT_STATUSES = ['received', 'investigating', 'resolved'] as const;
export type ComplaintStatus = (typeof COMPLAINT_STATUSES)[number];

/** The workflow: each status and the one it may move on to. */
const NEXT: Record<ComplaintStatus, ComplaintStatus | null> = { received: 'investigating', investigating: 'resolved', resolved: null };

/** The field the complaint's text is sealed under (associated data, with the complaint's id). */
const TEXT_FIELD = 'complaint.text';
const DAY_MS = 86_400_000;

export interface ComplaintMeta {
  id: string;
  receivedAt: Date;
  receivedVia: string;
  callId: string | null;
  staffId: string | null;
  category: string;
  status: ComplaintStatus;
  dueAt: Date;
  overdue: boolean;
  recordedBy: string;
  updatedAt: Date;
  resolvedAt: Date | null;
}

export interface NewComplaint {
  receivedVia: string;
  receivedAt?: string;
  callId?: string;
  staffId?: string;
  category: string;
  text: string;
}

/**
 * Complaints: recorded by a supervisor or a records officer, their text encrypted under a data key
 * of the complaint's own (ContentCipher, libs/crypto, as a call's notes are under the call's), moved
 * received -> investigating -> resolved with due dates from COMPLAINT_ACK_DAYS and
 * COMPLAINT_RESOLVE_DAYS. Seen by those roles only, and never by the member of staff it is about.
 * Every step is audited (ids only) and counted into the hourly statistics.
 */
@Injectable()
export class ComplaintsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: ContentCipher,
    private readonly audit: AuditService,
    private readonly stats: HourlyStats,
    private readonly clock: Clock,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async record(user: Principal, input: NewComplaint): Promise<ComplaintMeta> {
    const now = this.clock.now();
    const receivedAt = input.receivedAt ? new Date(input.receivedAt) : now;
    if (receivedAt.getTime() > now.getTime() + 60_000)
      throw new BadRequestException({ message: 'receivedAt cannot be in the future', fields: ['receivedAt'] });
    if (input.staffId) {
      const [staff] = await this.db.query('SELECT id FROM staff WHERE id = ?', [input.staffId]);
      if (!staff) throw new BadRequestException({ message: 'no such member of staff', fields: ['staffId'] });
      if (input.staffId === user.id)
        throw new BadRequestException({ message: 'a complaint about yourself is recorded by someone else', fields: ['staffId'] });
    }
    const id = randomUUID();
    const sealed = await this.cipher.encrypt(id, TEXT_FIELD, input.text);
    const dueAt = new Date(receivedAt.getTime() + this.env.COMPLAINT_ACK_DAYS * DAY_MS);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO complaints (id, received_at, received_via, call_id, staff_id, category, body_enc, status, due_at, recorded_by, recorded_role, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)`,
        [
          id,
          receivedAt,
          input.receivedVia,
          input.callId ?? null,
          input.staffId ?? null,
          input.category,
          sealed,
          dueAt,
          user.id,
          user.role,
          now,
        ],
      );
      await this.stats.bump('complaints_received', receivedAt, tx);
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'complaint.recorded',
          targetType: 'complaint',
          targetId: id,
          detail: {
            category: input.category,
            receivedVia: input.receivedVia,
            ...(input.callId ? { callId: input.callId } : {}),
            ...(input.staffId ? { staffId: input.staffId } : {}),
          },
        },
        tx,
      );
    });
    return this.meta(user, id);
  }

  async list(user: Principal, status?: ComplaintStatus): Promise<ComplaintMeta[]> {
    const rows: any[] = await this.db.query(
      `SELECT ${COLUMNS} FROM complaints WHERE (staff_id IS NULL OR staff_id <> ?) ${status ? 'AND status = ?' : ''}
        ORDER BY status = 'resolved', due_at LIMIT 500`,
      status ? [user.id, status] : [user.id],
    );
    const now = this.clock.now();
    return rows.map((r) => toMeta(r, now));
  }

  /** The complaint with its text, decrypted; the read is audited. */
  async read(user: Principal, id: string): Promise<ComplaintMeta & { text: string }> {
    const meta = await this.meta(user, id);
    const [row] = await this.db.query('SELECT body_enc FROM complaints WHERE id = ?', [id]);
    const text = await this.cipher.decrypt(id, TEXT_FIELD, row.body_enc);
    await this.audit.append({ actorId: user.id, actorRole: user.role, action: 'complaint.read', targetType: 'complaint', targetId: id });
    return { ...meta, text };
  }

  async move(user: Principal, id: string, to: ComplaintStatus): Promise<ComplaintMeta> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query(`SELECT ${COLUMNS} FROM complaints WHERE id = ? FOR UPDATE`, [id]);
      if (!row || row.staff_id === user.id) throw new NotFoundException('no such complaint');
      const from = row.status as ComplaintStatus;
      if (NEXT[from] !== to) throw new ConflictException(`a ${from} complaint cannot become ${to}`);
      const now = this.clock.now();
      const dueAt =
        to === 'investigating' ? new Date(new Date(row.received_at).getTime() + this.env.COMPLAINT_RESOLVE_DAYS * DAY_MS) : row.due_at;
      await tx.query('UPDATE complaints SET status = ?, due_at = ?, updated_at = ?, resolved_at = ? WHERE id = ?', [
        to,
        dueAt,
        now,
        to === 'resolved' ? now : null,
        id,
      ]);
      if (to === 'resolved') await this.stats.bump('complaints_resolved', now, tx);
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'complaint.status_changed',
          targetType: 'complaint',
          targetId: id,
          detail: { from, to },
        },
        tx,
      );
    });
    return this.meta(user, id);
  }

  private async meta(user: Principal, id: string): Promise<ComplaintMeta> {
    const [row] = await this.db.query(`SELECT ${COLUMNS} FROM complaints WHERE id = ?`, [id]);
    // The member of staff a complaint is about does not see it, whatever their role.
    if (!row || row.staff_id === user.id) throw new NotFoundException('no such complaint');
    return toMeta(row, this.clock.now());
  }
}

const COLUMNS = 'id, received_at, received_via, call_id, staff_id, category, status, due_at, recorded_by, updated_at, resolved_at';

function toMeta(r: any, now: Date): ComplaintMeta {
  const dueAt = new Date(r.due_at);
  return {
    id: r.id,
    receivedAt: new Date(r.received_at),
    receivedVia: r.received_via,
    callId: r.call_id,
    staffId: r.staff_id,
    category: r.category,
    status: r.status,
    dueAt,
    overdue: r.status !== 'resolved' && dueAt < now,
    recordedBy: r.recorded_by,
    updatedAt: new Date(r.updated_at),
    resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
  };
}
