import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditEntryEntity } from '@hotline/persistence';
import { AuditRecord, GENESIS_HASH, entryHash } from './audit.chain';

export interface AuditInput {
  actorId?: string | null;
  actorRole?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  /** A caller pseudonym, never a number. */
  pseudonym?: string | null;
  /** Ids, counts, reasons for access; never content, numbers or names. */
  detail?: Record<string, unknown> | null;
}

/** Rows per INSERT: well under the 65,535 placeholders a statement may carry. */
const INSERT_ROWS = 1000;

export interface AuditVerification {
  ok: boolean;
  entries: number;
  firstBadEntry?: { seq: number; problem: string };
}

/**
 * The append-only, hash-chained audit trail. Appends lock the single `audit_head` row, so
 * concurrent writers (any process) queue rather than fork the chain.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Appends inside `manager`'s transaction when given (so the entry commits with the change it records). */
  async append(input: AuditInput, manager?: EntityManager): Promise<number> {
    const [seq] = await this.appendMany([input], manager);
    return seq;
  }

  /**
   * Appends the entries in order as consecutive links of the chain, with one lock of the head and
   * multi-row inserts (a batch of deletions audits in a few statements, not three per entry).
   * Inside `manager`'s transaction when given. Returns their seqs.
   */
  async appendMany(inputs: AuditInput[], manager?: EntityManager): Promise<number[]> {
    if (!inputs.length) return [];
    if (manager?.queryRunner?.isTransactionActive) return this.appendWith(manager, inputs);
    return this.ds.transaction((m) => this.appendWith(m, inputs));
  }

  private async appendWith(m: EntityManager, inputs: AuditInput[]): Promise<number[]> {
    const [head] = await m.query('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
    let seq = Number(head.seq);
    let prevHash: string = head.hash;
    const rows: unknown[][] = [];
    for (const input of inputs) {
      const record: AuditRecord = {
        seq: ++seq,
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
      rows.push([seq, record.at, record.actorId, record.actorRole, record.action, record.targetType, record.targetId, record.pseudonym, record.detail ? JSON.stringify(record.detail) : null, prevHash, hash]);
      prevHash = hash;
    }
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      const chunk = rows.slice(i, i + INSERT_ROWS);
      await m.query(
        `INSERT INTO audit_log (seq, at, actor_id, actor_role, action, target_type, target_id, pseudonym, detail, prev_hash, hash)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flat(),
      );
    }
    await m.query('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [seq, prevHash]);
    const first = Number(head.seq) + 1;
    return inputs.map((_, i) => first + i);
  }

  /** Recomputes the whole chain; names the first entry that was edited, deleted or reordered. */
  async verify(pageSize = 5000): Promise<AuditVerification> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let entries = 0;
    for (;;) {
      const rows: any[] = await this.ds.query(
        'SELECT seq, at, actor_id, actor_role, action, target_type, target_id, pseudonym, detail, prev_hash, hash FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?',
        [expectedSeq, pageSize],
      );
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== expectedSeq) return { ok: false, entries, firstBadEntry: { seq: expectedSeq, problem: `entry ${expectedSeq} is missing (next found is ${seq})` } };
        if (row.prev_hash !== prevHash) return { ok: false, entries, firstBadEntry: { seq, problem: 'does not follow the entry before it (deleted, inserted or reordered)' } };
        const detail = row.detail == null ? null : typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail;
        const recomputed = entryHash(prevHash, {
          seq,
          at: row.at,
          actorId: row.actor_id,
          actorRole: row.actor_role,
          action: row.action,
          targetType: row.target_type,
          targetId: row.target_id,
          pseudonym: row.pseudonym,
          detail,
        });
        if (recomputed !== row.hash) return { ok: false, entries, firstBadEntry: { seq, problem: 'content does not match its hash (edited)' } };
        prevHash = row.hash;
        expectedSeq = seq + 1;
        entries++;
      }
      if (rows.length < pageSize) break;
    }
    const [head] = await this.ds.query('SELECT seq, hash FROM audit_head WHERE id = 1');
    if (head && Number(head.seq) !== entries) {
      return { ok: false, entries, firstBadEntry: { seq: entries + 1, problem: `the chain should hold ${head.seq} entries but ${entries} remain (entries deleted at the end)` } };
    }
    if (head && entries > 0 && head.hash !== prevHash) {
      return { ok: false, entries, firstBadEntry: { seq: entries, problem: 'the last entry does not match the chain head' } };
    }
    return { ok: true, entries };
  }
}

export { AuditEntryEntity };
