import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { AuditService } from '@hotline/audit';
import { Principal, StaffService } from '@hotline/auth';
import { ComplaintBook, ComplaintRow, HourlyStats } from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { COMPLAINT_NEXT_STATUS, ComplaintStatus } from '@hotline/contract';
import { ContentCipher } from '@hotline/crypto';

// The channels, categories and statuses (and the workflow) are written once, in libs/contract: the console offers the same.
export { COMPLAINT_CATEGORIES, COMPLAINT_CHANNELS, COMPLAINT_STATUSES } from '@hotline/contract';
export type { ComplaintStatus } from '@hotline/contract';
const NEXT = COMPLAINT_NEXT_STATUS;

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
    private readonly book: ComplaintBook,
    private readonly staff: StaffService,
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
      if (!(await this.staff.findById(input.staffId)))
        throw new BadRequestException({ message: 'no such member of staff', fields: ['staffId'] });
      if (input.staffId === user.id)
        throw new BadRequestException({ message: 'a complaint about yourself is recorded by someone else', fields: ['staffId'] });
    }
    const id = randomUUID();
    const sealed = await this.cipher.encrypt(id, TEXT_FIELD, input.text);
    const dueAt = new Date(receivedAt.getTime() + this.env.COMPLAINT_ACK_DAYS * DAY_MS);
    await this.book.transaction(async (tx) => {
      await this.book.insert(
        {
          id,
          receivedAt,
          receivedVia: input.receivedVia,
          callId: input.callId ?? null,
          staffId: input.staffId ?? null,
          category: input.category,
          sealedText: sealed,
          dueAt,
          recordedBy: user.id,
          recordedRole: user.role,
          at: now,
        },
        tx,
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
    const rows = await this.book.list(user.id, status);
    const now = this.clock.now();
    return rows.map((r) => toMeta(r, now));
  }

  /** The complaint with its text, decrypted; the read is audited. */
  async read(user: Principal, id: string): Promise<ComplaintMeta & { text: string }> {
    const meta = await this.meta(user, id);
    const text = await this.cipher.decrypt(id, TEXT_FIELD, (await this.book.sealedText(id))!);
    await this.audit.append({ actorId: user.id, actorRole: user.role, action: 'complaint.read', targetType: 'complaint', targetId: id });
    return { ...meta, text };
  }

  async move(user: Principal, id: string, to: ComplaintStatus): Promise<ComplaintMeta> {
    await this.book.transaction(async (tx) => {
      const row = await this.book.find(id, tx);
      if (!row || row.staffId === user.id) throw new NotFoundException('no such complaint');
      const from = row.status as ComplaintStatus;
      if (NEXT[from] !== to) throw new ConflictException(`a ${from} complaint cannot become ${to}`);
      const now = this.clock.now();
      const dueAt = to === 'investigating' ? new Date(row.receivedAt.getTime() + this.env.COMPLAINT_RESOLVE_DAYS * DAY_MS) : row.dueAt;
      await this.book.setStatus(id, { status: to, dueAt, updatedAt: now, resolvedAt: to === 'resolved' ? now : null }, tx);
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
    const row = await this.book.find(id);
    // The member of staff a complaint is about does not see it, whatever their role.
    if (!row || row.staffId === user.id) throw new NotFoundException('no such complaint');
    return toMeta(row, this.clock.now());
  }
}

function toMeta(r: ComplaintRow, now: Date): ComplaintMeta {
  const { id, receivedAt, receivedVia, callId, staffId, category, status, dueAt, recordedBy, updatedAt, resolvedAt } = r;
  const overdue = status !== 'resolved' && dueAt < now;
  return { id, receivedAt, receivedVia, callId, staffId, category, status, dueAt, overdue, recordedBy, updatedAt, resolvedAt };
}
