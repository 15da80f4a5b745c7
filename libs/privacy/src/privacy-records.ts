import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditInput } from '@hotline/audit';
import { CallbackBook, CallerRecords } from '@hotline/calls/records';

/** Appends an audit entry inside the given transaction (AuditService.append, or an equivalent). */
export type AuditAppend = (input: AuditInput, m: EntityManager) => Promise<unknown>;

/**
 * A request the worker has claimed: it can no longer be cancelled, and a repeat request joins it.
 * Not in the contract's list (pending, done, partly_held, cancelled): it lasts as long as one run.
 */
export const IN_PROGRESS = 'in_progress';
const OPEN_STATUSES = ['pending', IN_PROGRESS];

export interface CallerSummary {
  /** Calls on record for this caller. */
  total: number;
  /** Of those, calls under a legal hold (kept whatever the caller asks). */
  held: number;
}

/** What the privacy line tells a verified caller before they confirm: counts only. */
export async function callerSummary(ds: DataSource, pseudonym: string): Promise<CallerSummary> {
  return new CallerRecords(ds).counts(pseudonym);
}

export interface DeletionRequestResult {
  id: string;
  created: boolean;
  executeAfter: Date;
}

/** The caller's request that is still to be carried out (pending or running), if any. */
export async function openDeletionRequest(
  ds: DataSource | EntityManager,
  pseudonym: string,
): Promise<{ id: string; status: string; executeAfter: Date } | null> {
  const rows = await ds.query(
    'SELECT id, status, execute_after FROM deletion_requests WHERE caller_pseudonym = ? AND status IN (?) ORDER BY requested_at DESC LIMIT 1',
    [pseudonym, OPEN_STATUSES],
  );
  return rows.length ? { id: rows[0].id, status: rows[0].status, executeAfter: new Date(rows[0].execute_after) } : null;
}

/**
 * Records a verified deletion request; a second request while one is open returns that one.
 * `sealContact` gets the new request's id (the sealed number is bound to it) and returns the
 * sealed number for the closing SMS, or null when there is none to send.
 */
export async function requestDeletion(
  ds: DataSource,
  input: {
    pseudonym: string;
    executeAfter: Date;
    summary: CallerSummary;
    contactEnc?: Buffer | null;
    /** The one-time contact key (keystore `contact_keys`) `sealContact` seals to. */
    contactKeyId?: string | null;
    sealContact?: (requestId: string) => Buffer | null;
    /** The privacy-line call that asks (deleted at Twilio once the request is carried out). */
    callSid?: string | null;
    now?: Date;
    audit?: AuditAppend;
    /** Audit detail of how it was asked for (e.g. the CallSid). Ids only. */
    via?: Record<string, unknown>;
  },
): Promise<DeletionRequestResult> {
  return ds.transaction(async (m) => {
    const open = await m.query('SELECT id, execute_after FROM deletion_requests WHERE caller_pseudonym = ? AND status IN (?) FOR UPDATE', [
      input.pseudonym,
      OPEN_STATUSES,
    ]);
    if (open.length) {
      // This call is deleted at Twilio with the request's own (its record holds the number).
      if (input.callSid) await addCallSid(m, open[0].id, input.callSid);
      await input.audit?.(
        {
          actorRole: 'caller',
          action: 'deletion_request.repeated',
          targetType: 'deletion_request',
          targetId: open[0].id,
          detail: { ...input.via },
        },
        m,
      );
      return { id: open[0].id, created: false, executeAfter: new Date(open[0].execute_after) };
    }
    const id = randomUUID();
    const contactEnc = input.sealContact ? input.sealContact(id) : (input.contactEnc ?? null);
    await m.query(
      `INSERT INTO deletion_requests (id, caller_pseudonym, requested_at, verified_by, status, execute_after, calls_total, calls_held, calls_deleted, contact_enc, contact_key_id, call_sids)
       VALUES (?, ?, ?, 'sms_code', 'pending', ?, ?, ?, 0, ?, ?, ?)`,
      [
        id,
        input.pseudonym,
        input.now ?? new Date(),
        input.executeAfter,
        input.summary.total,
        input.summary.held,
        contactEnc,
        contactEnc ? (input.contactKeyId ?? null) : null,
        input.callSid ?? null,
      ],
    );
    await input.audit?.(
      {
        actorRole: 'caller',
        action: 'deletion_request.created',
        targetType: 'deletion_request',
        targetId: id,
        detail: {
          ...input.via,
          verifiedBy: 'sms_code',
          calls: input.summary.total,
          held: input.summary.held,
          executeAfter: input.executeAfter.toISOString(),
          closingSms: !!contactEnc,
        },
      },
      m,
    );
    return { id, created: true, executeAfter: input.executeAfter };
  });
}

/** Privacy-line calls kept on a request (space-separated CallSids), to be deleted at Twilio when it is carried out. */
const MAX_CALL_SIDS = 1024;

async function addCallSid(m: EntityManager, requestId: string, callSid: string): Promise<void> {
  await m.query(
    `UPDATE deletion_requests SET call_sids = TRIM(CONCAT(COALESCE(call_sids, ''), ' ', ?))
      WHERE id = ? AND (call_sids IS NULL OR (LOCATE(?, call_sids) = 0 AND CHAR_LENGTH(call_sids) + 35 <= ?))`,
    [callSid, requestId, callSid, MAX_CALL_SIDS],
  );
}

/** The CallSids kept on a request (see `addCallSid`). */
export function callSidsOf(column: string | null): string[] {
  return (column ?? '').split(' ').filter((s) => /^CA[0-9a-fA-F]{32}$/.test(s));
}

/** Cancels the caller's pending request, if any (not one the worker has started), and returns its id. */
export async function cancelPendingDeletion(
  ds: DataSource,
  pseudonym: string,
  now = new Date(),
  audit?: AuditAppend,
  via?: Record<string, unknown>,
): Promise<string | null> {
  return ds.transaction(async (m) => {
    const rows = await m.query("SELECT id FROM deletion_requests WHERE caller_pseudonym = ? AND status = 'pending' FOR UPDATE", [
      pseudonym,
    ]);
    if (!rows.length) return null;
    await m.query("UPDATE deletion_requests SET status = 'cancelled', cancelled_at = ?, contact_enc = NULL WHERE id = ?", [
      now,
      rows[0].id,
    ]);
    await audit?.(
      {
        actorRole: 'caller',
        action: 'deletion_request.cancelled',
        targetType: 'deletion_request',
        targetId: rows[0].id,
        detail: { ...via },
      },
      m,
    );
    return rows[0].id as string;
  });
}

/**
 * Withdraws recording consent: every recording consent of this caller is marked withdrawn, and
 * later calls from the number are not recorded. Returns the calls whose recordings must be
 * deleted at Twilio.
 */
export async function withdrawRecordingConsent(
  ds: DataSource,
  pseudonym: string,
  now = new Date(),
  audit?: AuditAppend,
  via?: Record<string, unknown>,
): Promise<{ withdrawn: number; callsWithRecordings: string[] }> {
  const callers = new CallerRecords(ds);
  return ds.transaction(async (m) => {
    const result = await callers.withdrawRecordingConsent(pseudonym, now, m);
    // The same key withdraws callbacks and follow-ups (config/wording.yaml says so): their numbers are erased now.
    const callbacks = await new CallbackBook(m).withdraw(pseudonym, now);
    await m.query(
      'INSERT INTO caller_preferences (caller_pseudonym, recording_opt_out_at, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE recording_opt_out_at = COALESCE(recording_opt_out_at, VALUES(recording_opt_out_at)), updated_at = VALUES(updated_at)',
      [pseudonym, now, now],
    );
    await audit?.(
      {
        actorRole: 'caller',
        action: 'consent.withdrawn',
        targetType: 'consent',
        targetId: null,
        detail: { ...via, kind: 'recording', consents: result.withdrawn, callsWithRecordings: result.callsWithRecordings, callbacks },
      },
      m,
    );
    return result;
  });
}

/** True when this caller withdrew consent to recording: their later calls are not recorded. */
export async function recordingOptedOut(ds: DataSource, pseudonym: string | null): Promise<boolean> {
  if (!pseudonym) return false;
  const rows = await ds.query('SELECT 1 FROM caller_preferences WHERE caller_pseudonym = ? AND recording_opt_out_at IS NOT NULL', [
    pseudonym,
  ]);
  return rows.length > 0;
}
