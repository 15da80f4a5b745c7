import { DataSource } from 'typeorm';

/**
 * What a refused request must not change: the row count of every table of the records database,
 * the audit chain's head, and the in-place changes the API can make (a hold lifted, an escalation
 * co-signed, a call's risk level or retention moved). Equal before and after = nothing written.
 */
export async function recordsFingerprint(db: DataSource): Promise<Record<string, unknown>> {
  const tables: { t: string }[] = await db.query(
    'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name',
  );
  const counts = tables.map(({ t }) => `(SELECT COUNT(*) FROM \`${t}\`) AS \`rows:${t}\``);
  const [row] = await db.query(
    `SELECT ${counts.join(', ')},
      (SELECT MAX(seq) FROM audit_log) AS auditHead,
      (SELECT COUNT(*) FROM legal_holds WHERE lifted_at IS NULL) AS holdsInForce,
      (SELECT COUNT(*) FROM escalations WHERE cosigned_by IS NOT NULL) AS cosigned,
      (SELECT COALESCE(SUM(CRC32(CONCAT_WS('|', id, risk_level, retention_policy, retention_deadline, IFNULL(operator_id, '-'), status))), 0) FROM calls) AS callsDigest`,
  );
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)]));
}
