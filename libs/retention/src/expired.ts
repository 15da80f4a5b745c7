import { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

const UNHELD = 'NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.call_id = c.id AND h.lifted_at IS NULL)';

export interface ExpiredCursor {
  deadline: Date;
  id: string;
}

/**
 * One page of expired, unheld calls, oldest deadline first, after `cursor` (keyset paging on
 * the deadline index, so a scan over millions of rows never re-reads or skips one).
 */
export async function expiredCallsPage(db: Db, now: Date, limit: number, cursor?: ExpiredCursor): Promise<{ ids: string[]; next?: ExpiredCursor }> {
  const rows: { id: string; retention_deadline: Date }[] = cursor
    ? await db.query(
        `SELECT c.id, c.retention_deadline FROM calls c
          WHERE c.retention_deadline <= ? AND (c.retention_deadline > ? OR (c.retention_deadline = ? AND c.id > ?)) AND ${UNHELD}
          ORDER BY c.retention_deadline, c.id LIMIT ?`,
        [now, cursor.deadline, cursor.deadline, cursor.id, limit],
      )
    : await db.query(`SELECT c.id, c.retention_deadline FROM calls c WHERE c.retention_deadline <= ? AND ${UNHELD} ORDER BY c.retention_deadline, c.id LIMIT ?`, [now, limit]);
  const last = rows[rows.length - 1];
  return { ids: rows.map((r) => r.id), next: rows.length === limit ? { deadline: last.retention_deadline, id: last.id } : undefined };
}

/** Expired, unheld calls still present whose deadline passed before `before`. */
export async function countExpiredCalls(db: Db, before: Date): Promise<number> {
  const [{ n }] = await db.query(`SELECT COUNT(*) AS n FROM calls c WHERE c.retention_deadline <= ? AND ${UNHELD}`, [before]);
  return Number(n);
}

export interface ExpiredRecording {
  id: string;
  callId: string;
  recordingSid: string;
}

/** Recordings past their own deadline on calls that are not (expired calls go whole, with theirs). */
export async function expiredRecordingsOfLiveCalls(db: Db, now: Date, limit: number): Promise<ExpiredRecording[]> {
  const rows: { id: string; call_id: string; recording_sid: string }[] = await db.query(
    `SELECT r.id, r.call_id, r.recording_sid FROM recordings r JOIN calls c ON c.id = r.call_id
      WHERE r.deleted_at IS NULL AND r.retention_deadline <= ? AND c.retention_deadline > ? AND ${UNHELD}
      ORDER BY r.retention_deadline LIMIT ?`,
    [now, now, limit],
  );
  return rows.map((r) => ({ id: r.id, callId: r.call_id, recordingSid: r.recording_sid }));
}

/** Recordings past their deadline by `before`, not yet deleted, on unheld calls (the report's overdue recordings). */
export async function countExpiredRecordings(db: Db, before: Date): Promise<number> {
  const [{ n }] = await db.query(
    `SELECT COUNT(*) AS n FROM recordings r JOIN calls c ON c.id = r.call_id WHERE r.deleted_at IS NULL AND r.retention_deadline <= ? AND ${UNHELD}`,
    [before],
  );
  return Number(n);
}
