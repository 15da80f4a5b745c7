import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { PolicyName, RetentionConfig } from '@hotline/config';
import { DataKeyDestroyedError, DataKeyStore } from '@hotline/crypto';
import type { RiskLevel } from '@hotline/contract';
import { CallDetail, CallNote, CallPage, CallSummary, DeletionCertificate, EscalationDetails, EscalationMeta } from './call.model';
import { CallMapper, CallRow, EscalationRow, NoteRow } from './call.mapper';
import { CallRepository, CallTx, ContentKeyGoneError, InvalidCursorError, NewNote } from './call.repository';
import { LegalHolds } from './legal-holds';
import { retentionAfterAssessment } from './retention-policy';
import { retriedTransaction } from './lock-retry';

export const CALLS_RETENTION = Symbol('CALLS_RETENTION');

const CALL_COLUMNS =
  'id, status, started_at, answered_at, ended_at, risk_level, operator_id, retention_policy, retention_deadline, recording_consent, wrapup_category';

@Injectable()
export class TypeOrmCallRepository extends CallRepository {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly mapper: CallMapper,
    private readonly keys: DataKeyStore,
    private readonly holds: LegalHolds,
    @Inject(CALLS_RETENTION) private readonly retention: RetentionConfig,
  ) {
    super();
  }

  async transaction<T>(work: (tx: CallTx) => Promise<T>): Promise<T> {
    return retriedTransaction(this.ds, work);
  }

  async list(filter: { operatorId?: string }, page: { limit: number; cursor?: string }): Promise<CallPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.operatorId) {
      // The calls they handle, and those they were given read access to (a transfer), unless revoked since.
      where.push('(operator_id = ? OR id IN (SELECT call_id FROM call_access WHERE staff_id = ? AND revoked_at IS NULL))');
      params.push(filter.operatorId, filter.operatorId);
    }
    if (page.cursor) {
      const c = decodeCursor(page.cursor);
      where.push('(started_at < ? OR (started_at = ? AND id < ?))');
      params.push(c.startedAt, c.startedAt, c.id);
    }
    const rows: CallRow[] = await this.ds.query(
      `SELECT ${CALL_COLUMNS} FROM calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`,
      [...params, page.limit + 1],
    );
    const items = rows.slice(0, page.limit).map((r) => this.mapper.summary(r));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.startedAt, last.callId) : null };
  }

  async findSummary(callId: string): Promise<CallSummary | null> {
    const [row] = await this.ds.query(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`, [callId]);
    return row ? this.mapper.summary(row) : null;
  }

  async hasReadGrant(callId: string, staffId: string, tx?: CallTx): Promise<boolean> {
    const rows = await (tx ?? this.ds).query(
      'SELECT 1 AS granted FROM call_access WHERE call_id = ? AND staff_id = ? AND revoked_at IS NULL',
      [callId, staffId],
    );
    return rows.length > 0;
  }

  async lockShared(callId: string, tx: CallTx): Promise<CallSummary | null> {
    const [row] = await tx.query(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = ? LOCK IN SHARE MODE`, [callId]);
    return row ? this.mapper.summary(row) : null;
  }

  async lockExclusive(callId: string, tx: CallTx): Promise<CallSummary | null> {
    const [row] = await tx.query(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = ? FOR UPDATE`, [callId]);
    return row ? this.mapper.summary(row) : null;
  }

  async readContent(call: CallSummary, tx: CallTx): Promise<CallDetail> {
    const [noteRows, assessments, escalationRows, hold] = await Promise.all([
      tx.query('SELECT id, call_id, author_id, amends_note_id, body_enc, created_at FROM notes WHERE call_id = ? ORDER BY created_at, id', [
        call.callId,
      ]) as Promise<NoteRow[]>,
      tx.query('SELECT risk_level, assessed_by, created_at FROM risk_assessments WHERE call_id = ? ORDER BY created_at, id', [
        call.callId,
      ]) as Promise<any[]>,
      tx.query(
        'SELECT id, call_id, operator_id, risk_level, details_enc, created_at, cosigned_by, cosigned_at FROM escalations WHERE call_id = ? ORDER BY created_at, id',
        [call.callId],
      ) as Promise<(EscalationRow & { details_enc: Buffer })[]>,
      this.holdInForce(call.callId, tx),
    ]);
    return {
      ...call,
      notes: await Promise.all(noteRows.map((r) => this.mapper.note(r))),
      assessment: {
        riskLevel: call.riskLevel,
        history: assessments.map((a) => ({ riskLevel: a.risk_level, assessedBy: a.assessed_by, at: new Date(a.created_at) })),
      },
      escalations: await Promise.all(escalationRows.map((r) => this.mapper.escalation(r))),
      legalHold: hold ? { placedAt: hold.placedAt } : null,
    };
  }

  async certificate(callId: string, tx?: CallTx): Promise<DeletionCertificate | null> {
    const [row] = await (tx ?? this.ds).query(
      'SELECT id, call_id, reason, retention_policy, retention_deadline, deletion_request_id, steps, destroyed_at FROM deletion_certificates WHERE call_id = ?',
      [callId],
    );
    return row ? this.mapper.certificate(row) : null;
  }

  async note(noteId: string, tx?: CallTx): Promise<CallNote | null> {
    const [row]: NoteRow[] = await (tx ?? this.ds).query(
      'SELECT id, call_id, author_id, amends_note_id, body_enc, created_at FROM notes WHERE id = ?',
      [noteId],
    );
    return row ? this.mapper.note(row) : null;
  }

  async noteBelongsTo(noteId: string, callId: string, tx?: CallTx): Promise<boolean> {
    const rows = await (tx ?? this.ds).query('SELECT 1 FROM notes WHERE id = ? AND call_id = ?', [noteId, callId]);
    return rows.length > 0;
  }

  async addNote(note: NewNote, tx: CallTx): Promise<{ id: string; createdAt: Date }> {
    const id = randomUUID();
    const createdAt = new Date();
    const body = await this.mapper.sealNote(note.callId, id, note.text);
    await tx.query('INSERT INTO notes (id, call_id, author_id, amends_note_id, body_enc, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      id,
      note.callId,
      note.authorId,
      note.amendsNoteId,
      body,
      createdAt,
    ]);
    return { id, createdAt };
  }

  async addAssessment(call: CallSummary, level: RiskLevel, assessedBy: string, tx: CallTx) {
    const id = randomUUID();
    const at = new Date();
    const next = retentionAfterAssessment(
      this.retention,
      { policy: call.retentionPolicy, deadline: call.retentionDeadline, startedAt: call.startedAt },
      level,
    );
    await tx.query('INSERT INTO risk_assessments (id, call_id, assessed_by, risk_level, created_at) VALUES (?, ?, ?, ?, ?)', [
      id,
      call.callId,
      assessedBy,
      level,
      at,
    ]);
    await tx.query('UPDATE calls SET risk_level = ?, retention_policy = ?, retention_deadline = ? WHERE id = ?', [
      level,
      next.policy,
      next.deadline,
      call.callId,
    ]);
    return { id, riskLevel: level, retentionPolicy: next.policy as PolicyName, retentionDeadline: next.deadline, at };
  }

  async addEscalation(
    call: CallSummary,
    operatorId: string,
    details: EscalationDetails,
    tx: CallTx,
  ): Promise<{ id: string; createdAt: Date }> {
    const id = randomUUID();
    const createdAt = new Date();
    const sealed = await this.mapper.sealEscalation(call.callId, id, details);
    await tx.query('INSERT INTO escalations (id, call_id, operator_id, risk_level, details_enc, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      id,
      call.callId,
      operatorId,
      'imminent',
      sealed,
      createdAt,
    ]);
    return { id, createdAt };
  }

  async escalations(callId: string): Promise<EscalationMeta[]> {
    const rows: EscalationRow[] = await this.ds.query(
      'SELECT id, call_id, operator_id, risk_level, created_at, cosigned_by, cosigned_at FROM escalations WHERE call_id = ? ORDER BY created_at, id',
      [callId],
    );
    return rows.map((r) => this.mapper.escalationMeta(r));
  }

  async cosignEscalation(callId: string, escalationId: string, supervisorId: string, tx: CallTx) {
    const at = new Date();
    const res = await tx.query(
      'UPDATE escalations SET cosigned_by = ?, cosigned_at = ? WHERE id = ? AND call_id = ? AND cosigned_by IS NULL',
      [supervisorId, at, escalationId, callId],
    );
    if (res.affectedRows === 1) return { outcome: 'cosigned' as const, at };
    const exists = await tx.query('SELECT 1 FROM escalations WHERE id = ? AND call_id = ?', [escalationId, callId]);
    return { outcome: exists.length ? ('already_cosigned' as const) : ('not_found' as const) };
  }

  holdInForce(callId: string, tx?: CallTx): Promise<{ id: string; placedAt: Date } | null> {
    return this.holds.inForce(callId, tx);
  }

  placeHold(callId: string, reason: string, placedBy: string, tx: CallTx): Promise<{ id: string; placedAt: Date }> {
    return this.holds.place(callId, reason, placedBy, tx);
  }

  liftHold(callId: string, liftedBy: string, tx: CallTx): Promise<{ id: string; liftedAt: Date } | null> {
    return this.holds.lift(callId, liftedBy, tx);
  }

  async contentKeyDestroyed(callId: string, tx?: CallTx): Promise<boolean> {
    return !(await this.hasKey(callId)) && (await this.hasContent(callId, tx));
  }

  async ensureContentKey(callId: string): Promise<void> {
    if (await this.hasKey(callId)) return;
    // No key. Creating one is right for a call's first content; but if content exists, its key was
    // destroyed (secure deletion under way) and a fresh key would bring the call back to life.
    if (await this.hasContent(callId)) throw new ContentKeyGoneError(callId);
    await this.keys.getOrCreate(callId);
  }

  /** From the key store's short cache when it can (a key destroyed by another process is seen within its CACHE_MS). */
  private async hasKey(callId: string): Promise<boolean> {
    try {
      await this.keys.unwrap(callId);
      return true;
    } catch (e) {
      if (e instanceof DataKeyDestroyedError) return false;
      throw e;
    }
  }

  private async hasContent(callId: string, tx?: CallTx): Promise<boolean> {
    const [row] = await (tx ?? this.ds).query(
      'SELECT EXISTS (SELECT 1 FROM notes WHERE call_id = ?) OR EXISTS (SELECT 1 FROM escalations WHERE call_id = ?) AS has_content',
      [callId, callId],
    );
    return Number(row.has_content) === 1;
  }
}

function encodeCursor(startedAt: Date, id: string): string {
  return Buffer.from(`${startedAt.toISOString()}|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { startedAt: Date; id: string } {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new InvalidCursorError();
  return { startedAt: new Date(m[1]), id: m[2] };
}
