import { DataSource } from 'typeorm';

/** Tables whose rows belong to one call (a `call_id` column), counted for that call by recordsFingerprint. */
export const CALL_TABLES = ['notes', 'risk_assessments', 'escalations', 'legal_holds', 'consents', 'recordings'] as const;

/**
 * What a refused request must not change: the row count of every table of the records database,
 * the audit chain's head, and the in-place changes the API can make (a hold lifted, an escalation
 * co-signed, a call's risk level or retention moved, a staff member's role, name or state, a
 * complaint moved on, a statistic counted). Equal
 * before and after = nothing written. With `callId`, also the rows of CALL_TABLES that belong to
 * that call (`call:<table>`), so that a write can be checked to have gone to the call it named.
 */
export async function recordsFingerprint(db: DataSource, callId?: string): Promise<Record<string, unknown>> {
  const tables: { t: string }[] = await db.query(
    'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name',
  );
  const counts = tables.map(({ t }) => `(SELECT COUNT(*) FROM \`${t}\`) AS \`rows:${t}\``);
  const perCall = callId ? CALL_TABLES.map((t) => `(SELECT COUNT(*) FROM \`${t}\` WHERE call_id = ?) AS \`call:${t}\``) : [];
  const [row] = await db.query(
    `SELECT ${[...counts, ...perCall].join(', ')},
      (SELECT MAX(seq) FROM audit_log) AS auditHead,
      (SELECT COUNT(*) FROM legal_holds WHERE lifted_at IS NULL) AS holdsInForce,
      (SELECT COUNT(*) FROM escalations WHERE cosigned_by IS NOT NULL) AS cosigned,
      (SELECT COALESCE(SUM(CRC32(CONCAT_WS('|', id, risk_level, retention_policy, retention_deadline, IFNULL(operator_id, '-'), status))), 0) FROM calls) AS callsDigest,
      (SELECT COALESCE(SUM(CRC32(CONCAT_WS('|', id, username, display_name, role, active))), 0) FROM staff) AS staffDigest,
      (SELECT COALESCE(SUM(CRC32(CONCAT_WS('|', id, status, due_at))), 0) FROM complaints) AS complaintsDigest,
      (SELECT COALESCE(SUM(n), 0) FROM stats_hourly) AS statsCount`,
    perCall.map(() => callId),
  );
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)]));
}

/** The audit entries appended after `head` (what a request wrote to the chain). */
export async function auditSince(
  db: DataSource,
  head: unknown,
): Promise<{ action: string; target_type: string | null; target_id: string | null }[]> {
  return db.query('SELECT action, target_type, target_id FROM audit_log WHERE seq > ? ORDER BY seq', [Number(head ?? 0)]);
}
