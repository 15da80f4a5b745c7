import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { AuditInput, AuditService } from '@hotline/audit';
import { RetentionConfig, recordingDeadline } from '@hotline/config';
import { CallEventTooEarly, CallRowMissing } from './call-lifecycle-errors';
import { CONFERENCE_EVENT_KINDS, CallConferenceRecords, ConferenceEventPayload } from './call-conference';
import { CallLegEventPayload, CallLegs } from './call-legs';
import { OpenCallGroup, OpenCallInput } from './open-call';

export { CallEventTooEarly, CallRowMissing } from './call-lifecycle-errors';
export type { ConferenceEventPayload } from './call-conference';

/**
 * What happens to a call from the gateway's side, as plain data: the same payload is written at
 * once when MySQL answers, or kept as a job and replayed when it is back (fail open for the
 * caller). Ids, SIDs and pseudonyms only: never a number or a name (job payloads sit in Redis).
 */
export type OpenCallPayload = Omit<OpenCallInput, 'startedAt'> & { startedAt: string };

export type CallEventPayload =
  | { kind: 'connected'; callId: string; operatorId: string; at: string }
  | { kind: 'ended'; callId: string | null; callSid: string; outcome: 'completed' | 'abandoned'; at: string; sequence: number | null }
  | { kind: 'wrapup'; callId: string; operatorId: string; category: string | null }
  | { kind: 'recording'; callId: string | null; callSid: string; recordingSid: string; status: string; at: string }
  | ConferenceEventPayload
  /** A Twilio leg of the call (conference participants, transfer targets, supervisors): kept for its deletion at Twilio with the call. */
  | CallLegEventPayload
  /** A consent asked in the call flow besides recording (research, when configured): the caller's answer. */
  | { kind: 'consent'; callId: string; consentKind: 'research' | 'follow_up'; granted: boolean; wordingVersion: string; at: string };

/** One group commit of call openings per data source (CallLifecycle objects are made per write). */
const openings = new WeakMap<DataSource, OpenCallGroup>();
function openingsOf(db: DataSource, retention: RetentionConfig, audit: AuditService): OpenCallGroup {
  let group = openings.get(db);
  if (!group) {
    group = new OpenCallGroup(db, retention, (m, entries) =>
      audit.appendMany(
        entries.map((e) => ({ ...e, actorRole: 'system' })),
        m,
      ),
    );
    openings.set(db, group);
  }
  return group;
}

/**
 * A call's life in the records database: opened, answered, ended, wrapped up, its recording
 * linked. Every write is idempotent (the gateway replays them after an outage), and one that
 * depends on the call row throws CallRowMissing until the row exists. Works over any data source,
 * the gateway's lazily connected one included; holds no key and reads no content.
 */
export class CallLifecycle {
  constructor(
    private readonly db: DataSource,
    private readonly retention: RetentionConfig,
    private readonly audit: AuditService = new AuditService(db),
  ) {}

  /** Opens the call (idempotent on CallSid and on the call id; never re-opens a destroyed call). */
  async open(p: OpenCallPayload): Promise<void> {
    await openingsOf(this.db, this.retention, this.audit).open({ ...p, startedAt: new Date(p.startedAt) });
  }

  async apply(e: CallEventPayload): Promise<void> {
    if ((CONFERENCE_EVENT_KINDS as readonly string[]).includes(e.kind))
      return new CallConferenceRecords(this.db, this.audit).apply(e as ConferenceEventPayload);
    switch (e.kind) {
      case 'connected':
        return this.answered(e.callId, e.operatorId, new Date(e.at));
      case 'ended':
        return this.ended({ callId: e.callId, callSid: e.callSid }, e.outcome, new Date(e.at), e.sequence);
      case 'wrapup':
        return this.wrappedUp(e.callId, e.operatorId, e.category);
      case 'recording':
        return this.recordingLinked({ callId: e.callId, callSid: e.callSid }, e.recordingSid, e.status, new Date(e.at));
      case 'consent':
        return this.consented(e.callId, e.consentKind, e.granted, e.wordingVersion, new Date(e.at));
      case 'leg':
        return new CallLegs(this.db).record(e.callId, e.legSid, e.role, new Date(e.at));
    }
  }

  /**
   * The caller's answer to a consent question of the call flow (research), under the caller's
   * pseudonym like the recording consent. Once per call and kind: a replayed job changes nothing.
   */
  async consented(callId: string, kind: 'research' | 'follow_up', granted: boolean, wordingVersion: string, at: Date): Promise<void> {
    await this.db.transaction(async (m) => {
      const rows: { caller_pseudonym: string | null }[] = await m.query('SELECT caller_pseudonym FROM calls WHERE id = ? FOR UPDATE', [
        callId,
      ]);
      if (!rows.length) throw new CallRowMissing(callId);
      if ((await m.query('SELECT 1 FROM consents WHERE call_id = ? AND kind = ?', [callId, kind])).length) return;
      await m.query(
        'INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [randomUUID(), callId, rows[0].caller_pseudonym, kind, granted ? 1 : 0, wordingVersion, at],
      );
      await this.audit.append(
        {
          actorRole: 'system',
          action: 'consent.recorded',
          targetType: 'call',
          targetId: callId,
          detail: { kind, granted, wordingVersion },
        },
        m,
      );
    });
  }

  /** The operator answered: operator_id is what gives them need-to-know access to the call's record. */
  async answered(callId: string, operatorId: string, at: Date): Promise<void> {
    await this.db.transaction(async (m) => {
      const rows: { operator_id: string | null; answered_at: Date | null }[] = await m.query(
        'SELECT operator_id, answered_at FROM calls WHERE id = ? FOR UPDATE',
        [callId],
      );
      if (!rows.length) throw new CallRowMissing(callId);
      if (rows[0].operator_id === operatorId && rows[0].answered_at) return;
      await m.query(
        `UPDATE calls SET operator_id = ?, answered_at = COALESCE(answered_at, ?), status = IF(ended_at IS NULL, 'connected', 'completed') WHERE id = ?`,
        [operatorId, at, callId],
      );
      await this.audit.append(
        { actorId: operatorId, actorRole: 'operator', action: 'call.answered', targetType: 'call', targetId: callId, detail: {} },
        m,
      );
    });
  }

  /**
   * The call ended: completed if it was answered (or Twilio says so), else abandoned. `sequence`
   * is the status callback's, kept as the highest seen. A call known only by its SID that has no
   * row (the caller hung up during the menu, before any call was opened) has nothing to end.
   */
  async ended(
    ref: { callId: string | null; callSid: string },
    outcome: 'completed' | 'abandoned',
    at: Date,
    sequence: number | null,
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      const rows: { id: string; ended_at: Date | null }[] = await m.query(
        ref.callId
          ? 'SELECT id, ended_at FROM calls WHERE id = ? FOR UPDATE'
          : 'SELECT id, ended_at FROM calls WHERE call_sid = ? FOR UPDATE',
        [ref.callId ?? ref.callSid],
      );
      if (!rows.length) {
        if (!ref.callId) return;
        throw new CallRowMissing(ref.callId);
      }
      const id = rows[0].id;
      if (sequence != null) await m.query('UPDATE calls SET last_sequence = GREATEST(last_sequence, ?) WHERE id = ?', [sequence, id]);
      if (rows[0].ended_at) return;
      await m.query(
        `UPDATE calls SET ended_at = ?, status = IF(? = 'completed' OR answered_at IS NOT NULL, 'completed', 'abandoned') WHERE id = ?`,
        [at, outcome, id],
      );
      await this.audit.append({ actorRole: 'system', action: 'call.ended', targetType: 'call', targetId: id, detail: { outcome } }, m);
    });
  }

  /** The operator's wrap-up category; only the operator who handled the call sets it. */
  async wrappedUp(callId: string, operatorId: string, category: string | null): Promise<void> {
    // The operator who answered, or one the call was transferred to (call_access, a grant not revoked).
    const res = await this.db.query(
      'UPDATE calls SET wrapup_category = ? WHERE id = ? AND (operator_id = ? OR EXISTS (SELECT 1 FROM call_access a WHERE a.call_id = calls.id AND a.staff_id = ? AND a.revoked_at IS NULL))',
      [category, callId, operatorId, operatorId],
    );
    if (!Number(res?.affectedRows ?? 0)) {
      const rows: { operator_id: string | null }[] = await this.db.query('SELECT operator_id FROM calls WHERE id = ?', [callId]);
      if (!rows.length) throw new CallRowMissing(callId);
      // Not answered on record yet: the answer is still on its way (queued behind this); wait for it.
      if (rows[0].operator_id === null) throw new CallEventTooEarly(callId, 'answered');
    }
  }

  /** A recording of the call at Twilio, with its own (shorter) deadline; later statuses update it. Audited once. */
  async recordingLinked(ref: { callId: string | null; callSid: string }, recordingSid: string, status: string, at: Date): Promise<void> {
    await this.db.transaction(async (m) => {
      const rows: { id: string; retention_deadline: Date }[] = await m.query(
        ref.callId
          ? 'SELECT id, retention_deadline FROM calls WHERE id = ?'
          : 'SELECT id, retention_deadline FROM calls WHERE call_sid = ?',
        [ref.callId ?? ref.callSid],
      );
      if (!rows.length) throw new CallRowMissing(ref.callId ?? ref.callSid);
      const res = await m.query(
        `INSERT INTO recordings (id, call_id, recording_sid, status, retention_deadline, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE status = VALUES(status)`,
        [
          randomUUID(),
          rows[0].id,
          recordingSid,
          status.slice(0, 16),
          recordingDeadline(this.retention, new Date(rows[0].retention_deadline), at),
          at,
        ],
      );
      // affectedRows is 1 for a new row: audit the link once, not on every later status.
      if (Number(res?.affectedRows ?? 0) === 1) {
        await this.audit.append(
          {
            actorRole: 'system',
            action: 'recording.linked',
            targetType: 'call',
            targetId: rows[0].id,
            detail: { recordingSid },
          } satisfies AuditInput,
          m,
        );
      }
    });
  }
}
