/**
 * Fixtures of the privacy line's tables for the tests (`@hotline/privacy/fixtures`): states the
 * line reaches only with time or a crash. Production code never imports this file; only
 * libs/privacy names its tables in SQL (scripts/table-owners.js).
 */
import { IN_PROGRESS } from './privacy-records';

/** A DataSource, an EntityManager or a QueryRunner of the records database. */
export interface Queries {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/** The request as a run that died before closing it leaves it: claimed (in progress), not completed. */
export async function reopenDeletionRequest(db: Queries, requestId: string): Promise<void> {
  await db.query('UPDATE deletion_requests SET status = ?, completed_at = NULL WHERE id = ?', [IN_PROGRESS, requestId]);
}

/** The caller's unused codes expire at `at` (e.g. in the past: the ten minutes have gone by). */
export async function expireCodes(db: Queries, callerPseudonym: string, at: Date): Promise<void> {
  await db.query('UPDATE privacy_codes SET expires_at = ? WHERE caller_pseudonym = ? AND used_at IS NULL', [at, callerPseudonym]);
}
