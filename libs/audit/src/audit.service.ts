import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditRecord, GENESIS_HASH, entryHash } from './audit.chain';
import { CheckpointStore } from './audit-checkpoints';

/** The checkpoint store (a directory outside MySQL), where configured. */
export const AUDIT_CHECKPOINTS = Symbol('AUDIT_CHECKPOINTS');

/** Most entries one checkpoint file lists (a burst of audited deletions makes several files). */
const CHECKPOINT_MAX_ENTRIES = 10_000;

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
  /** What the signed checkpoints outside MySQL said; absent when none are configured. */
  checkpoints?: { files: number; coveredToSeq: number; problems: string[] };
}

/**
 * The append-only, hash-chained audit trail. Appends lock the single `audit_head` row, so
 * concurrent writers (any process) queue rather than fork the chain.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Optional() @Inject(AUDIT_CHECKPOINTS) private readonly checkpoints?: CheckpointStore,
  ) {}

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
      rows.push([
        seq,
        record.at,
        record.actorId,
        record.actorRole,
        record.action,
        record.targetType,
        record.targetId,
        record.pseudonym,
        record.detail ? JSON.stringify(record.detail) : null,
        prevHash,
        hash,
      ]);
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

  /**
   * Signs the entries appended since the last checkpoint into the checkpoint store (outside MySQL).
   * Refuses (and says why) when the first new entry does not follow the last checkpointed hash:
   * then the chain was rewritten and signing its new tail would bless the rewrite.
   * Returns how many entries it covered.
   */
  async checkpoint(): Promise<number> {
    const store = this.checkpoints;
    if (!store?.canWrite) return 0;
    const [head] = await this.ds.query('SELECT seq FROM audit_head WHERE id = 1');
    const headSeq = Number(head?.seq ?? 0);
    let from = store.latestSeq();
    let covered = 0;
    // Only the newest file is read (not every checkpoint ever written, as verification does).
    let lastHash: string | undefined = from ? store.latest()?.hashes.at(-1) : GENESIS_HASH;
    while (from < headSeq) {
      const rows: { seq: string | number; hash: string; prev_hash: string }[] = await this.ds.query(
        'SELECT seq, hash, prev_hash FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq',
        [from, Math.min(headSeq, from + CHECKPOINT_MAX_ENTRIES)],
      );
      if (!rows.length) break;
      if (Number(rows[0].seq) !== from + 1 || (lastHash && rows[0].prev_hash !== lastHash)) {
        this.logger.error({ msg: 'audit chain does not follow its last signed checkpoint; not signing', checkpointSeq: from });
        throw new Error(`audit entry ${from + 1} does not follow the signed checkpoint at ${from}: run audit:verify`);
      }
      store.write(
        from,
        rows.map((r) => r.hash),
      );
      from = Number(rows[rows.length - 1].seq);
      lastHash = rows[rows.length - 1].hash;
      covered += rows.length;
    }
    return covered;
  }

  /** Recomputes the whole chain; names the first entry that was edited, deleted or reordered. */
  async verify(pageSize = 5000): Promise<AuditVerification> {
    const signed = this.checkpoints?.canVerify ? this.checkpoints.readAll() : undefined;
    const checkpointed = new Map<number, { hash: string; at: string }>();
    for (const c of signed?.checkpoints ?? []) c.hashes.forEach((hash, i) => checkpointed.set(c.fromSeq + i + 1, { hash, at: c.at }));
    const coveredToSeq = Math.max(0, ...(signed?.checkpoints ?? []).map((c) => c.toSeq));
    const report = signed
      ? { files: signed.checkpoints.length + signed.problems.length, coveredToSeq, problems: signed.problems }
      : undefined;
    const chain = await this.verifyChain(pageSize, checkpointed, coveredToSeq);
    return report ? { ...chain, ok: chain.ok && !report.problems.length, checkpoints: report } : chain;
  }

  private async verifyChain(
    pageSize: number,
    checkpointed: Map<number, { hash: string; at: string }>,
    coveredToSeq: number,
  ): Promise<AuditVerification> {
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
        if (seq !== expectedSeq)
          return {
            ok: false,
            entries,
            firstBadEntry: { seq: expectedSeq, problem: `entry ${expectedSeq} is missing (next found is ${seq})` },
          };
        if (row.prev_hash !== prevHash)
          return {
            ok: false,
            entries,
            firstBadEntry: { seq, problem: 'does not follow the entry before it (deleted, inserted or reordered)' },
          };
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
        if (recomputed !== row.hash)
          return { ok: false, entries, firstBadEntry: { seq, problem: 'content does not match its hash (edited)' } };
        const expected = checkpointed.get(seq);
        if (expected && expected.hash !== row.hash) {
          return {
            ok: false,
            entries,
            firstBadEntry: {
              seq,
              problem: `differs from the signed checkpoint of ${expected.at} (the chain was rewritten from here on, hashes recomputed)`,
            },
          };
        }
        prevHash = row.hash;
        expectedSeq = seq + 1;
        entries++;
      }
      if (rows.length < pageSize) break;
    }
    if (coveredToSeq > entries) {
      return {
        ok: false,
        entries,
        firstBadEntry: {
          seq: entries + 1,
          problem: `the signed checkpoints cover ${coveredToSeq} entries but ${entries} remain (entries deleted at the end)`,
        },
      };
    }
    const [head] = await this.ds.query('SELECT seq, hash FROM audit_head WHERE id = 1');
    if (head && Number(head.seq) !== entries) {
      return {
        ok: false,
        entries,
        firstBadEntry: {
          seq: entries + 1,
          problem: `the chain should hold ${head.seq} entries but ${entries} remain (entries deleted at the end)`,
        },
      };
    }
    if (head && entries > 0 && head.hash !== prevHash) {
      return { ok: false, entries, firstBadEntry: { seq: entries, problem: 'the last entry does not match the chain head' } };
    }
    return { ok: true, entries };
  }
}
