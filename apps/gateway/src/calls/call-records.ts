import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditInput, AuditService } from '@hotline/audit';
import { OpenCallInput, openCall } from '@hotline/calls';
import { RetentionConfig, recordingDeadline } from '@hotline/config';

/**
 * What the gateway writes to the records database, as plain data: the same payload is written at
 * once when MySQL answers, or kept as a BullMQ job and replayed when it is back (fail open for the
 * caller). Ids, SIDs and pseudonyms only: never a number or a name (job payloads sit in Redis).
 * Every write is idempotent, and one that depends on the call row throws until the row exists.
 */
export type OpenCallPayload = Omit<OpenCallInput, 'startedAt'> & { startedAt: string };

export type CallEventPayload =
  | { kind: 'connected'; callId: string; operatorId: string; at: string }
  | { kind: 'ended'; callId: string | null; callSid: string; outcome: 'completed' | 'abandoned'; at: string; sequence: number | null }
  | { kind: 'wrapup'; callId: string; operatorId: string; category: string | null }
  | { kind: 'recording'; callId: string | null; callSid: string; recordingSid: string; status: string; at: string };

export class CallRowMissing extends Error {
  constructor(ref: string) {
    super(`call ${ref} is not in the records database yet`);
    this.name = 'CallRowMissing';
  }
}

function auditWith(ds: DataSource, m: EntityManager, input: AuditInput): Promise<number> {
  return new AuditService(ds).append(input, m);
}

export async function writeOpenCall(ds: DataSource, retention: RetentionConfig, p: OpenCallPayload): Promise<void> {
  await openCall(ds, retention, { ...p, startedAt: new Date(p.startedAt) }, (m, e) => auditWith(ds, m, { ...e, actorRole: 'system' }));
}

export async function writeCallEvent(ds: DataSource, retention: RetentionConfig, e: CallEventPayload): Promise<void> {
  switch (e.kind) {
    case 'connected':
      // operator_id is what gives the operator need-to-know access to this call's record.
      return ds.transaction(async (m) => {
        const rows: { operator_id: string | null; answered_at: Date | null }[] = await m.query('SELECT operator_id, answered_at FROM calls WHERE id = ? FOR UPDATE', [e.callId]);
        if (!rows.length) throw new CallRowMissing(e.callId);
        if (rows[0].operator_id === e.operatorId && rows[0].answered_at) return;
        await m.query(
          `UPDATE calls SET operator_id = ?, answered_at = COALESCE(answered_at, ?), status = IF(ended_at IS NULL, 'connected', 'completed') WHERE id = ?`,
          [e.operatorId, new Date(e.at), e.callId],
        );
        await auditWith(ds, m, { actorId: e.operatorId, actorRole: 'operator', action: 'call.answered', targetType: 'call', targetId: e.callId, detail: {} });
      });
    case 'ended':
      return ds.transaction(async (m) => {
        const rows: { id: string; ended_at: Date | null }[] = await m.query(
          e.callId ? 'SELECT id, ended_at FROM calls WHERE id = ? FOR UPDATE' : 'SELECT id, ended_at FROM calls WHERE call_sid = ? FOR UPDATE',
          [e.callId ?? e.callSid],
        );
        if (!rows.length) {
          // A caller who hung up during the menu never had a call opened: nothing to end.
          if (!e.callId) return;
          throw new CallRowMissing(e.callId);
        }
        const id = rows[0].id;
        if (e.sequence != null) await m.query('UPDATE calls SET last_sequence = GREATEST(last_sequence, ?) WHERE id = ?', [e.sequence, id]);
        if (rows[0].ended_at) return;
        await m.query(
          `UPDATE calls SET ended_at = ?, status = IF(? = 'completed' OR answered_at IS NOT NULL, 'completed', 'abandoned') WHERE id = ?`,
          [new Date(e.at), e.outcome, id],
        );
        await auditWith(ds, m, { actorRole: 'system', action: 'call.ended', targetType: 'call', targetId: id, detail: { outcome: e.outcome } });
      });
    case 'wrapup': {
      const res = await ds.query('UPDATE calls SET wrapup_category = ? WHERE id = ? AND operator_id = ?', [e.category, e.callId, e.operatorId]);
      if (!Number(res?.affectedRows ?? 0)) {
        const rows: unknown[] = await ds.query('SELECT 1 FROM calls WHERE id = ?', [e.callId]);
        if (!rows.length) throw new CallRowMissing(e.callId);
      }
      return;
    }
    case 'recording':
      return ds.transaction(async (m) => {
        const rows: { id: string; retention_deadline: Date }[] = await m.query(
          e.callId ? 'SELECT id, retention_deadline FROM calls WHERE id = ?' : 'SELECT id, retention_deadline FROM calls WHERE call_sid = ?',
          [e.callId ?? e.callSid],
        );
        if (!rows.length) throw new CallRowMissing(e.callId ?? e.callSid);
        const at = new Date(e.at);
        const res = await m.query(
          `INSERT INTO recordings (id, call_id, recording_sid, status, retention_deadline, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE status = VALUES(status)`,
          [randomUUID(), rows[0].id, e.recordingSid, e.status.slice(0, 16), recordingDeadline(retention, new Date(rows[0].retention_deadline), at), at],
        );
        // affectedRows is 1 for a new row: audit the link once, not on every later status.
        if (Number(res?.affectedRows ?? 0) === 1) {
          await auditWith(ds, m, { actorRole: 'system', action: 'recording.linked', targetType: 'call', targetId: rows[0].id, detail: { recordingSid: e.recordingSid } });
        }
      });
  }
}
