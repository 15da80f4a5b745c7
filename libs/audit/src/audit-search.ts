import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** What the auditor filters the trail by. `action` ending in `*` matches a prefix (`call.*`). */
export interface AuditFilter {
  actorId?: string;
  action?: string;
  actions?: readonly string[];
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
}

/**
 * One entry as an auditor sees it: who, what, on which id, when, and the content-free detail
 * (ids, counts, reasons for access). The caller pseudonym column is never shown.
 */
export interface AuditEntryView {
  seq: number;
  at: Date;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditPage {
  entries: AuditEntryView[];
  nextCursor: string | null;
}

export class InvalidAuditCursorError extends Error {}

const encodeCursor = (seq: number) => Buffer.from(`s:${seq}`).toString('base64url');
function decodeCursor(cursor: string): number {
  const m = /^s:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new InvalidAuditCursorError('cursor is not valid');
  return Number(m[1]);
}

/** Reads of the audit trail for auditors: newest first, by seq, paged by an opaque cursor. */
@Injectable()
export class AuditSearch {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async page(filter: AuditFilter, limit: number, cursor?: string): Promise<AuditPage> {
    const before = cursor ? decodeCursor(cursor) : undefined;
    const entries = await this.query(filter, limit + 1, before);
    const more = entries.length > limit;
    const page = entries.slice(0, limit);
    return { entries: page, nextCursor: more ? encodeCursor(page[page.length - 1].seq) : null };
  }

  /** Every matching entry (up to `max`), newest first: for exports and access reports. */
  async all(filter: AuditFilter, max: number): Promise<{ entries: AuditEntryView[]; truncated: boolean }> {
    const out: AuditEntryView[] = [];
    let before: number | undefined;
    while (out.length <= max) {
      const want = Math.min(5000, max + 1 - out.length);
      const rows = await this.query(filter, want, before);
      out.push(...rows);
      if (rows.length < want) break;
      before = rows[rows.length - 1].seq;
    }
    return { entries: out.slice(0, max), truncated: out.length > max };
  }

  /** When the latest entry of `action` on that target was written (in `m` when given), or null. */
  async lastAt(target: { action: string; targetType: string; targetId: string }, m?: EntityManager): Promise<Date | null> {
    const [last] = await (m ?? this.ds).query(
      'SELECT at FROM audit_log WHERE target_type = ? AND target_id = ? AND action = ? ORDER BY seq DESC LIMIT 1',
      [target.targetType, target.targetId, target.action],
    );
    return last ? new Date(last.at) : null;
  }

  /** Whether `actorId` ever acted on that target (any action), in `m` when given. */
  async hasActedOn(actorId: string, targetType: string, targetId: string, m?: EntityManager): Promise<boolean> {
    const rows = await (m ?? this.ds).query('SELECT 1 FROM audit_log WHERE target_type = ? AND target_id = ? AND actor_id = ? LIMIT 1', [
      targetType,
      targetId,
      actorId,
    ]);
    return rows.length > 0;
  }

  /** How many entries of these actions were written since `week` and, of them, since `day`. */
  async countSince(actions: string[], since: { day: Date; week: Date }): Promise<{ week: number; day: number }> {
    const [row] = await this.ds.query(
      'SELECT COUNT(*) AS week, COALESCE(SUM(at >= ?), 0) AS day FROM audit_log WHERE action IN (?) AND at >= ?',
      [since.day, actions, since.week],
    );
    return { week: Number(row?.week ?? 0), day: Number(row?.day ?? 0) };
  }

  private async query(f: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditEntryView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      where.push(sql);
      params.push(value);
    };
    if (f.actorId) add('actor_id = ?', f.actorId);
    if (f.action?.endsWith('*')) add('action LIKE ?', f.action.slice(0, -1).replace(/[\\%_]/g, (c) => '\\' + c) + '%');
    else if (f.action) add('action = ?', f.action);
    if (f.actions && !f.actions.length) where.push('1 = 0');
    else if (f.actions) add('action IN (?)', f.actions);
    if (f.targetType) add('target_type = ?', f.targetType);
    if (f.targetId) add('target_id = ?', f.targetId);
    if (f.from) add('at >= ?', f.from);
    if (f.to) add('at < ?', f.to);
    if (beforeSeq !== undefined) add('seq < ?', beforeSeq);
    params.push(limit);
    const rows: any[] = await this.ds.query(
      `SELECT seq, at, actor_id, actor_role, action, target_type, target_id, detail FROM audit_log
        ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: new Date(r.at),
      actorId: r.actor_id,
      actorRole: r.actor_role,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      detail: r.detail == null ? null : typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail,
    }));
  }
}
