import { DataSource } from 'typeorm';
import { CallRowMissing } from './call-lifecycle-errors';

/**
 * The legs of a call at Twilio besides the caller's own call (`calls.call_sid`): each is a Twilio
 * Call resource of its own, with times, durations and, for some, the caller's number as caller ID,
 * so each is deleted at Twilio with the call (secure deletion's Twilio cleanup, a deletion asked for
 * on the privacy line). A conference's REST-added participants have no parent call at Twilio (a
 * `ParentCallSid` search never finds them), so the record keeps their SIDs (a SID is not a number):
 *  - `op`: an operator's browser leg dialled into the call's conference (on accept);
 *  - `xfer`: a warm transfer's target operator;
 *  - `ext`: a directory entry dialled in (its number is in the directory file, never here);
 *  - `sup`: a supervisor's browser leg (listen, coach, join);
 *  - `callback`: a leg a callback's outbound call opened (its `<Dial>` to the operator's browser),
 *    found at Twilio by its parent when the callback's call is deleted there.
 */
export const CALL_LEG_KINDS = ['op', 'xfer', 'ext', 'sup', 'callback'] as const;
export type CallLegKind = (typeof CALL_LEG_KINDS)[number];

/** The gateway learnt a leg of the call (a REST answer, a leg's status callback, a participant joining). */
export interface CallLegEventPayload {
  kind: 'leg';
  callId: string;
  legSid: string;
  role: CallLegKind;
  at: string;
}

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

/** A callback's outbound call, by its CallSid (`callback_attempts.twilio_call_sid`). */
export interface OutboundCall {
  callId: string;
  /** When its Call resource (and its legs) were deleted at Twilio; null while owed. */
  deletedAt: Date | null;
}

/** The `call_legs` rows of calls and the deletion at Twilio of callbacks' outbound calls (`callback_attempts.call_deleted_at`). */
export class CallLegs {
  constructor(private readonly db: DataSource) {}

  /**
   * Keeps a leg with its call (idempotent: a leg learnt twice is one row). The call row is locked
   * in share mode first, so a destruction running now either waits for this leg and deletes it at
   * Twilio with the call, or has finished: then the call has a certificate and the leg is kept all
   * the same, as a stray row the reconciler deletes at Twilio and then here. A call not yet on
   * record (its opening still on the way) throws CallRowMissing, for the write to be retried.
   */
  async record(callId: string, legSid: string, kind: CallLegKind, at: Date): Promise<void> {
    if (!CALL_SID.test(legSid) || !CALL_LEG_KINDS.includes(kind)) return;
    await this.db.transaction(async (m) => {
      const [call] = await m.query('SELECT id FROM calls WHERE id = ? LOCK IN SHARE MODE', [callId]);
      if (!call) {
        const [certified] = await m.query('SELECT id FROM deletion_certificates WHERE call_id = ?', [callId]);
        if (!certified) throw new CallRowMissing(callId);
      }
      await m.query('INSERT IGNORE INTO call_legs (call_id, call_sid, kind, created_at) VALUES (?, ?, ?, ?)', [callId, legSid, kind, at]);
    });
  }

  /** The call a callback's outbound call was placed for, and whether it is deleted at Twilio; null when none is on record. */
  async outboundCall(callSid: string): Promise<OutboundCall | null> {
    const [row]: { call_id: string; call_deleted_at: Date | null }[] = await this.db.query(
      'SELECT call_id, call_deleted_at FROM callback_attempts WHERE twilio_call_sid = ? ORDER BY started_at LIMIT 1',
      [callSid],
    );
    return row ? { callId: row.call_id, deletedAt: row.call_deleted_at } : null;
  }

  /** The legs an outbound call opened (found at Twilio by their parent), kept with its call before they are deleted there. */
  async recordAll(callId: string, legSids: string[], kind: CallLegKind, at: Date): Promise<void> {
    for (const sid of legSids) await this.record(callId, sid, kind, at);
  }

  /** These legs are gone at Twilio (the destruction need not delete them there again). */
  async markLegsDeleted(legSids: string[], at: Date): Promise<void> {
    if (legSids.length)
      await this.db.query('UPDATE call_legs SET deleted_at = ? WHERE call_sid IN (?) AND deleted_at IS NULL', [at, legSids]);
  }

  /** A callback's outbound call (and every leg it opened) is gone at Twilio: nothing more is owed for it. */
  async markOutboundDeleted(callSid: string, at: Date): Promise<void> {
    await this.db.query('UPDATE callback_attempts SET call_deleted_at = ? WHERE twilio_call_sid = ? AND call_deleted_at IS NULL', [
      at,
      callSid,
    ]);
  }

  /**
   * Outbound calls still owed a deletion at Twilio: ended before `endedBefore`, or started before
   * `startedBefore` and never reported ended (their status callback lost). For the reconciler to
   * queue again: MySQL, not Redis, says what is owed.
   */
  async outboundCallsOwed(endedBefore: Date, startedBefore: Date, limit: number): Promise<string[]> {
    const rows: { twilio_call_sid: string }[] = await this.db.query(
      `SELECT twilio_call_sid FROM callback_attempts
        WHERE call_deleted_at IS NULL AND twilio_call_sid IS NOT NULL
          AND (ended_at < ? OR (ended_at IS NULL AND started_at < ?))
        ORDER BY started_at LIMIT ?`,
      [endedBefore, startedBefore, limit],
    );
    return rows.map((r) => r.twilio_call_sid);
  }
}
