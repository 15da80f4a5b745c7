import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { RetentionConfig, retentionDeadline } from '@hotline/config';

export interface OpenCallInput {
  /** Chosen by the gateway at intake, so routing can use it before MySQL has answered. */
  callId: string;
  callSid: string;
  /** Keyed pseudonym of the caller's number; null when withheld. Never a number. */
  callerPseudonym: string | null;
  recordingConsent: boolean;
  wordingVersion: string;
  startedAt: Date;
}

export interface OpenCallResult {
  callId: string;
  created: boolean;
}

/**
 * Opens a call in the records database: the call row (metadata only, with its retention deadline
 * under the default policy), its recording-consent decision with the wording's version, and an
 * audit entry. Idempotent on CallSid, so the gateway may replay it after an outage.
 */
export async function openCall(
  ds: DataSource,
  retention: RetentionConfig,
  input: OpenCallInput,
  audit?: (
    m: EntityManager,
    entry: { action: string; targetType: string; targetId: string; detail: Record<string, unknown> },
  ) => Promise<unknown>,
): Promise<OpenCallResult> {
  return ds.transaction(async (m) => {
    const existing: { id: string }[] = await m.query('SELECT id FROM calls WHERE call_sid = ? OR id = ? LIMIT 1', [
      input.callSid,
      input.callId,
    ]);
    if (existing.length) return { callId: existing[0].id, created: false };
    // A call destroyed already (e.g. replay after deletion) must not come back.
    const destroyed: unknown[] = await m.query('SELECT 1 FROM deletion_certificates WHERE call_id = ?', [input.callId]);
    if (destroyed.length) return { callId: input.callId, created: false };
    const now = new Date();
    await m.query(
      `INSERT INTO calls (id, call_sid, caller_pseudonym, operator_id, status, started_at, risk_level, retention_policy, retention_deadline, recording_consent, created_at)
       VALUES (?, ?, ?, NULL, 'queued', ?, 'none', 'default', ?, ?, ?)`,
      [
        input.callId,
        input.callSid,
        input.callerPseudonym,
        input.startedAt,
        retentionDeadline(retention, 'default', input.startedAt),
        input.recordingConsent ? 1 : 0,
        now,
      ],
    );
    await m.query(
      `INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES (?, ?, ?, 'recording', ?, ?, ?)`,
      [randomUUID(), input.callId, input.callerPseudonym, input.recordingConsent ? 1 : 0, input.wordingVersion, input.startedAt],
    );
    if (audit) {
      await audit(m, {
        action: 'call.opened',
        targetType: 'call',
        targetId: input.callId,
        // Never the caller's pseudonym: the trail outlives the call, and it would tie the number to
        // this call after its destruction. The link lives in the call's rows, which deletion removes.
        detail: { recordingConsent: input.recordingConsent, wordingVersion: input.wordingVersion },
      });
    }
    return { callId: input.callId, created: true };
  });
}
