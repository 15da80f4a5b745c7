import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';

export interface CallerSummary {
  /** Calls on record for this caller. */
  total: number;
  /** Of those, calls under a legal hold (kept whatever the caller asks). */
  held: number;
}

/** What the privacy line tells a verified caller before they confirm: counts only. */
export async function callerSummary(ds: DataSource, pseudonym: string): Promise<CallerSummary> {
  const [row] = await ds.query(
    `SELECT COUNT(*) AS total,
            COALESCE(SUM(EXISTS (SELECT 1 FROM legal_holds h WHERE h.call_id = c.id AND h.lifted_at IS NULL)), 0) AS held
       FROM calls c WHERE c.caller_pseudonym = ?`,
    [pseudonym],
  );
  return { total: Number(row.total), held: Number(row.held) };
}

export interface DeletionRequestResult {
  id: string;
  created: boolean;
  executeAfter: Date;
}

/** Records a verified deletion request; a second request while one is pending returns that one. */
export async function requestDeletion(
  ds: DataSource,
  input: { pseudonym: string; executeAfter: Date; summary: CallerSummary; contactEnc: Buffer | null; now?: Date },
): Promise<DeletionRequestResult> {
  return ds.transaction(async (m) => {
    const pending = await m.query("SELECT id, execute_after FROM deletion_requests WHERE caller_pseudonym = ? AND status = 'pending' FOR UPDATE", [input.pseudonym]);
    if (pending.length) return { id: pending[0].id, created: false, executeAfter: new Date(pending[0].execute_after) };
    const id = randomUUID();
    await m.query(
      `INSERT INTO deletion_requests (id, caller_pseudonym, requested_at, verified_by, status, execute_after, calls_total, calls_held, calls_deleted, contact_enc)
       VALUES (?, ?, ?, 'sms_code', 'pending', ?, ?, ?, 0, ?)`,
      [id, input.pseudonym, input.now ?? new Date(), input.executeAfter, input.summary.total, input.summary.held, input.contactEnc],
    );
    return { id, created: true, executeAfter: input.executeAfter };
  });
}

/** Cancels the caller's pending request, if any, and returns its id. */
export async function cancelPendingDeletion(ds: DataSource, pseudonym: string, now = new Date()): Promise<string | null> {
  return ds.transaction(async (m) => {
    const rows = await m.query("SELECT id FROM deletion_requests WHERE caller_pseudonym = ? AND status = 'pending' FOR UPDATE", [pseudonym]);
    if (!rows.length) return null;
    await m.query("UPDATE deletion_requests SET status = 'cancelled', cancelled_at = ?, contact_enc = NULL WHERE id = ?", [now, rows[0].id]);
    return rows[0].id as string;
  });
}

/**
 * Withdraws recording consent: every recording consent of this caller is marked withdrawn, and
 * later calls from the number are not recorded. Returns the calls whose recordings must be
 * deleted at Twilio.
 */
export async function withdrawRecordingConsent(ds: DataSource, pseudonym: string, now = new Date()): Promise<{ withdrawn: number; callsWithRecordings: string[] }> {
  return ds.transaction(async (m) => {
    const res = await m.query(
      "UPDATE consents SET withdrawn_at = ? WHERE caller_pseudonym = ? AND kind = 'recording' AND granted = 1 AND withdrawn_at IS NULL",
      [now, pseudonym],
    );
    await m.query(
      'INSERT INTO caller_preferences (caller_pseudonym, recording_opt_out_at, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE recording_opt_out_at = COALESCE(recording_opt_out_at, VALUES(recording_opt_out_at)), updated_at = VALUES(updated_at)',
      [pseudonym, now, now],
    );
    const calls = await m.query(
      'SELECT DISTINCT r.call_id AS id FROM recordings r JOIN calls c ON c.id = r.call_id WHERE c.caller_pseudonym = ? AND r.deleted_at IS NULL',
      [pseudonym],
    );
    return { withdrawn: Number(res.affectedRows ?? 0), callsWithRecordings: calls.map((r: any) => r.id) };
  });
}

/** True when this caller withdrew consent to recording: their later calls are not recorded. */
export async function recordingOptedOut(ds: DataSource, pseudonym: string | null): Promise<boolean> {
  if (!pseudonym) return false;
  const rows = await ds.query('SELECT 1 FROM caller_preferences WHERE caller_pseudonym = ? AND recording_opt_out_at IS NOT NULL', [pseudonym]);
  return rows.length > 0;
}
