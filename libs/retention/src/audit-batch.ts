import { EntityManager } from 'typeorm';
import { AuditInput, AuditRecord, entryHash } from '@hotline/audit';

/**
 * Appends several entries to the audit chain inside `m`'s transaction with three statements
 * (lock the head, one multi-row insert, move the head), instead of three per entry. Same rows,
 * same hashes and same head lock as `AuditService.append`, which it mirrors entry for entry (the
 * tests check the chain with `AuditService.verify`). Belongs in AuditService as `appendMany`.
 */
export async function appendAuditEntries(m: EntityManager, inputs: AuditInput[]): Promise<void> {
  if (!inputs.length) return;
  const [head] = await m.query('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
  let seq = Number(head.seq);
  let prevHash: string = head.hash;
  const values: unknown[] = [];
  for (const input of inputs) {
    seq++;
    const record: AuditRecord = {
      seq,
      at: new Date(),
      actorId: input.actorId ?? null,
      actorRole: input.actorRole ?? null,
      action: input.action,
      targetType: input.targetType ?? null,
      targetId: input.targetId ?? null,
      pseudonym: input.pseudonym ?? null,
      detail: input.detail ?? null,
    };
    const hash = entryHash(prevHash, record);
    values.push(seq, record.at, record.actorId, record.actorRole, record.action, record.targetType, record.targetId, record.pseudonym, record.detail ? JSON.stringify(record.detail) : null, prevHash, hash);
    prevHash = hash;
  }
  await m.query(
    `INSERT INTO audit_log (seq, at, actor_id, actor_role, action, target_type, target_id, pseudonym, detail, prev_hash, hash)
     VALUES ${inputs.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    values,
  );
  await m.query('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [seq, prevHash]);
}
