import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ContentCipher } from '@hotline/crypto';

export type RescueStatus = 'requested' | 'approved';

export interface RescueRequest {
  id: string;
  callId: string;
  requestedBy: string;
  status: RescueStatus;
  approvedBy: string | null;
  escalationId: string | null;
  createdAt: Date;
  approvedAt: Date | null;
}

const requestField = (id: string) => `rescue:${id}:request-reason`;
const approvalField = (id: string) => `rescue:${id}:approval-reason`;

/**
 * Active rescue on record: who asked for the caller's number and location, who approved, and why
 * (the reasons encrypted under the call's data key, like notes). The number and the location
 * themselves are never written anywhere: records reads them live from Twilio and the routing state.
 */
@Injectable()
export class RescueRequests {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: ContentCipher,
  ) {}

  async create(callId: string, operatorId: string, reason: string, now: Date, tx: EntityManager): Promise<{ id: string; createdAt: Date }> {
    const id = randomUUID();
    const enc = await this.cipher.encrypt(callId, requestField(id), reason);
    await tx.query(
      `INSERT INTO rescue_requests (id, call_id, requested_by, request_reason_enc, status, approved_by, approval_reason_enc, escalation_id, created_at, approved_at)
       VALUES (?, ?, ?, ?, 'requested', NULL, NULL, NULL, ?, NULL)`,
      [id, callId, operatorId, enc, now],
    );
    return { id, createdAt: now };
  }

  async find(callId: string, id: string, tx?: EntityManager, lock = false): Promise<RescueRequest | null> {
    const [r]: any[] = await (tx ?? this.db).query(
      `SELECT id, call_id, requested_by, status, approved_by, escalation_id, created_at, approved_at FROM rescue_requests
        WHERE id = ? AND call_id = ?${lock ? ' FOR UPDATE' : ''}`,
      [id, callId],
    );
    return r
      ? {
          id: r.id,
          callId: r.call_id,
          requestedBy: r.requested_by,
          status: r.status,
          approvedBy: r.approved_by,
          escalationId: r.escalation_id,
          createdAt: r.created_at,
          approvedAt: r.approved_at,
        }
      : null;
  }

  async approve(r: RescueRequest, supervisorId: string, reason: string, escalationId: string, now: Date, tx: EntityManager): Promise<void> {
    const enc = await this.cipher.encrypt(r.callId, approvalField(r.id), reason);
    await tx.query(
      `UPDATE rescue_requests SET status = 'approved', approved_by = ?, approval_reason_enc = ?, escalation_id = ?, approved_at = ? WHERE id = ?`,
      [supervisorId, enc, escalationId, now, r.id],
    );
  }

  /**
   * Who handles the call now, for active rescue's need to know (issue 24): `calls.operator_id`, the
   * operator the record says has the call (it moves with a warm transfer's handover and when the next
   * operator answers a cold transfer), unless that operator has handed it on by a cold transfer nobody
   * has answered yet (the caller back in the queue): then nobody. Null too when the call is not there.
   */
  async handler(callId: string, tx?: EntityManager): Promise<string | null> {
    const [r]: { operator_id: string | null; handed_on: number | string }[] = await (tx ?? this.db).query(
      `SELECT c.operator_id,
              EXISTS (SELECT 1 FROM call_transfers t
                       WHERE t.call_id = c.id AND t.mode = 'cold' AND t.from_staff_id = c.operator_id AND t.outcome = 'started') AS handed_on
         FROM calls c WHERE c.id = ?`,
      [callId],
    );
    return r && !Number(r.handed_on) ? r.operator_id : null;
  }

  /** The Twilio CallSid of the caller's leg (the live Call resource holds their number); null when unknown. */
  async callSid(callId: string, tx?: EntityManager): Promise<string | null> {
    const [r]: { call_sid: string | null }[] = await (tx ?? this.db).query('SELECT call_sid FROM calls WHERE id = ?', [callId]);
    return r?.call_sid ?? null;
  }
}
