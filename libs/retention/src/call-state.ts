import { DataSource, EntityManager } from 'typeorm';
import type { DeletionStep } from '@hotline/persistence';

/** What the 410 answer carries: the deletion certificate, content-free. */
export interface CertificateView {
  id: string;
  callId: string;
  reason: string;
  retentionPolicy: string;
  retentionDeadline: string;
  deletionRequestId: string | null;
  steps: DeletionStep[];
  destroyedAt: string;
}

export type CallDestructionState =
  /** The call is whole: read it. */
  | { state: 'present' }
  /** Gone or going: answer 410 with the certificate (null while an interrupted destruction awaits its finish). */
  | { state: 'destroyed'; certificate: CertificateView | null }
  /** Never existed here: 404. */
  | { state: 'absent' };

type Db = DataSource | EntityManager;

export async function findCertificate(db: Db, callId: string): Promise<CertificateView | null> {
  const rows: any[] = await db.query(
    'SELECT id, call_id, reason, retention_policy, retention_deadline, deletion_request_id, steps, destroyed_at FROM deletion_certificates WHERE call_id = ?',
    [callId],
  );
  return rows.length ? toCertificateView(rows[0]) : null;
}

export function toCertificateView(r: any): CertificateView {
  return {
    id: r.id,
    callId: r.call_id,
    reason: r.reason,
    retentionPolicy: r.retention_policy,
    retentionDeadline: new Date(r.retention_deadline).toISOString(),
    deletionRequestId: r.deletion_request_id ?? null,
    steps: typeof r.steps === 'string' ? JSON.parse(r.steps) : r.steps,
    destroyedAt: new Date(r.destroyed_at).toISOString(),
  };
}

/**
 * Whether a call is whole, destroyed (410) or unknown (404), for the records read and write paths.
 *
 * Secure deletion destroys the data key before it deletes the rows (crypto-shredding first), and
 * does both while it holds the call row `FOR UPDATE`. A reader that reads the call row with
 * `LOCK IN SHARE MODE` therefore never sees the in-between state, except after a crash between
 * the two steps: then the rows are there but the key is not, until the next scan finishes the
 * job. Rows with encrypted content whose key is gone are a destroyed call, never a partial one.
 * (A call with no content yet never had a key: it is whole.)
 *
 * `keyExists` is the keystore's `exists(callId)` (KeystoreService), or any equivalent check.
 */
export async function callDestructionState(db: Db, keyExists: (callId: string) => Promise<boolean>, callId: string): Promise<CallDestructionState> {
  const [row] = await db.query(
    `SELECT (SELECT 1 FROM notes WHERE call_id = c.id LIMIT 1) AS has_notes,
            (SELECT 1 FROM escalations WHERE call_id = c.id LIMIT 1) AS has_escalations
       FROM calls c WHERE c.id = ?`,
    [callId],
  );
  if (!row) {
    const certificate = await findCertificate(db, callId);
    return certificate ? { state: 'destroyed', certificate } : { state: 'absent' };
  }
  if ((row.has_notes || row.has_escalations) && !(await keyExists(callId))) {
    return { state: 'destroyed', certificate: await findCertificate(db, callId) };
  }
  return { state: 'present' };
}

export async function isCallDestroyed(db: Db, keyExists: (callId: string) => Promise<boolean>, callId: string): Promise<boolean> {
  return (await callDestructionState(db, keyExists, callId)).state === 'destroyed';
}
