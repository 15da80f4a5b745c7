import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@hotline/audit';
import type { RiskLevel, SupervisionMode } from '@hotline/contract';
import { CallRowMissing } from './call-lifecycle-errors';

/**
 * What a call that lives in a conference adds to its record (issue 14), as plain data for the
 * gateway's writes (queued and replayed like the others, so every write is idempotent on its id).
 * Ids only: a directory entry is named by its id and kind, never its number; a supervisor's stated
 * reason goes to the audit trail, as a break-glass read's does. A supervision is the exception to
 * queueing (issue 24): it is written at once or not at all (`CallConferenceRecords.supervise`), so
 * no leg is dialled before its audit entry is written and its reason never sits in a job.
 */
export type ConferenceEventPayload =
  | { kind: 'bridged'; callId: string; bridge: 'conference' | 'direct'; conferenceSid: string | null }
  | {
      kind: 'transfer';
      id: string;
      callId: string;
      mode: 'warm' | 'cold' | 'external';
      fromStaffId: string;
      toStaffId: string | null;
      directoryId: string | null;
      directoryKind: string | null;
      at: string;
    }
  | { kind: 'transfer_outcome'; id: string; callId: string; outcome: 'connected' | 'completed' | 'failed'; at: string }
  | { kind: 'supervision'; id: string; callId: string; supervisorId: string; mode: SupervisionMode; reason: string; at: string }
  /**
   * `abandoned`: the supervision may never have been written (its write failed or came too late, and
   * no leg was dialled): closed if it is there after all, nothing to do if not.
   */
  | { kind: 'supervision_ended'; id: string; callId: string; supervisorId: string; at: string; abandoned?: boolean };

/** A supervision's own entry, with its stated reason: written directly, never kept in a job. */
export type SupervisionEventPayload = Extract<ConferenceEventPayload, { kind: 'supervision' }>;

/** A supervision not committed by its deadline: rolled back (the gateway has given up on it and dials nothing). */
export class SupervisionWriteTooLate extends Error {
  constructor(id: string) {
    super(`supervision ${id} not committed in time: rolled back`);
    this.name = 'SupervisionWriteTooLate';
  }
}

export const CONFERENCE_EVENT_KINDS = ['bridged', 'transfer', 'transfer_outcome', 'supervision', 'supervision_ended'] as const;

/** The call's risk level now (for a help request on the wallboard): metadata only. */
export async function callRiskLevel(db: DataSource, callId: string): Promise<RiskLevel> {
  const rows: { risk_level: RiskLevel }[] = await db.query('SELECT risk_level FROM calls WHERE id = ?', [callId]);
  return rows[0]?.risk_level ?? 'none';
}

export class CallConferenceRecords {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService = new AuditService(db),
  ) {}

  async apply(e: ConferenceEventPayload): Promise<void> {
    switch (e.kind) {
      case 'bridged':
        return this.bridged(e.callId, e.bridge, e.conferenceSid);
      case 'transfer':
        return this.transfer(e);
      case 'transfer_outcome':
        return this.transferOutcome(e.id, e.callId, e.outcome, new Date(e.at));
      // Only a supervision queued before issue 24 comes this way (a replayed job); new ones use supervise().
      case 'supervision':
        return this.supervision(e);
      case 'supervision_ended':
        return this.supervisionEnded(e);
    }
  }

  private async callExists(m: EntityManager | DataSource, callId: string): Promise<void> {
    const rows = await m.query('SELECT id FROM calls WHERE id = ? FOR UPDATE', [callId]);
    if (!rows.length) throw new CallRowMissing(callId);
  }

  /** How the caller was connected: in the conference named after the call, or directly (fallback). */
  async bridged(callId: string, bridge: 'conference' | 'direct', conferenceSid: string | null): Promise<void> {
    const update = () =>
      this.db.query('UPDATE calls SET bridge = ?, conference_sid = COALESCE(?, conference_sid) WHERE id = ?', [
        bridge,
        conferenceSid,
        callId,
      ]);
    if (Number((await update())?.affectedRows ?? 0)) return;
    // No row matched: the call is not open yet (its opening queued, or committing right now). If it is
    // there by now, it opened between the two statements: update it again, or the bridge would be lost.
    const rows = await this.db.query('SELECT id FROM calls WHERE id = ?', [callId]);
    if (!rows.length) throw new CallRowMissing(callId);
    await update();
  }

  /**
   * A transfer starts. To another operator: they get need-to-know access to the call's record
   * (call_access, audited); the transferring operator keeps theirs (calls.operator_id). To an
   * `emergency` directory entry: linked to the call's latest escalation record, if any.
   */
  private async transfer(e: Extract<ConferenceEventPayload, { kind: 'transfer' }>): Promise<void> {
    await this.db.transaction(async (m) => {
      await this.callExists(m, e.callId);
      const have = await m.query('SELECT id FROM call_transfers WHERE id = ?', [e.id]);
      if (have.length) return;
      let escalationId: string | null = null;
      if (e.directoryKind === 'emergency') {
        const esc: { id: string }[] = await m.query('SELECT id FROM escalations WHERE call_id = ? ORDER BY created_at DESC, id LIMIT 1', [
          e.callId,
        ]);
        escalationId = esc[0]?.id ?? null;
      }
      const at = new Date(e.at);
      await m.query(
        `INSERT INTO call_transfers (id, call_id, mode, from_staff_id, to_staff_id, directory_id, directory_kind, escalation_id, outcome, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'started', ?)`,
        [e.id, e.callId, e.mode, e.fromStaffId, e.toStaffId, e.directoryId, e.directoryKind, escalationId, at],
      );
      await this.audit.append(
        {
          actorId: e.fromStaffId,
          actorRole: 'operator',
          action: 'call.transfer',
          targetType: 'call',
          targetId: e.callId,
          detail: {
            transferId: e.id,
            mode: e.mode,
            ...(e.toStaffId ? { toStaffId: e.toStaffId } : {}),
            ...(e.directoryId ? { directoryId: e.directoryId, directoryKind: e.directoryKind } : {}),
            ...(escalationId ? { escalationId } : {}),
          },
        },
        m,
      );
      // Warm: the colleague gets read access when they join (transferOutcome, connected), not while
      // their leg rings. Cold: whoever answers next becomes the call's operator (calls.operator_id);
      // the transferring operator keeps read access through a grant.
      if (e.mode === 'cold') await this.grant(m, e.callId, e.fromStaffId, e.fromStaffId, e.id, at);
    });
  }

  /**
   * Need-to-know access to one call's record, for one member of staff, by the transfer `transferId`;
   * audited once. A grant they hold already stands as it is (and stays that transfer's); one revoked
   * before is given again, now this transfer's.
   */
  private async grant(m: EntityManager, callId: string, staffId: string, grantedBy: string, transferId: string, at: Date): Promise<void> {
    const res = await m.query('INSERT IGNORE INTO call_access (call_id, staff_id, via, transfer_id, granted_at) VALUES (?, ?, ?, ?, ?)', [
      callId,
      staffId,
      'transfer',
      transferId,
      at,
    ]);
    if (Number(res?.affectedRows ?? 0) !== 1) {
      const again = await m.query(
        'UPDATE call_access SET via = ?, transfer_id = ?, granted_at = ?, revoked_at = NULL WHERE call_id = ? AND staff_id = ? AND revoked_at IS NOT NULL',
        ['transfer', transferId, at, callId, staffId],
      );
      if (Number(again?.affectedRows ?? 0) !== 1) return;
    }
    await this.audit.append(
      {
        actorId: grantedBy,
        actorRole: 'operator',
        action: 'call.access_granted',
        targetType: 'call',
        targetId: callId,
        detail: { staffId, via: 'transfer', transferId },
      },
      m,
    );
  }

  /**
   * The grant that transfer `transferId` gave, revoked (issue 24): a warm transfer that failed after
   * the colleague joined. Only that transfer's grant: one the colleague held before stands. Audited.
   */
  private async revoke(m: EntityManager, callId: string, staffId: string, transferId: string, at: Date): Promise<void> {
    const res = await m.query(
      'UPDATE call_access SET revoked_at = ? WHERE call_id = ? AND staff_id = ? AND transfer_id = ? AND revoked_at IS NULL',
      [at, callId, staffId, transferId],
    );
    if (Number(res?.affectedRows ?? 0) !== 1) return;
    await this.audit.append(
      {
        actorRole: 'system',
        action: 'call.access_revoked',
        targetType: 'call',
        targetId: callId,
        detail: { staffId, via: 'transfer', transferId, why: 'transfer_failed' },
      },
      m,
    );
  }

  /**
   * How a transfer ended (connected: the target joined; completed: the call is theirs; failed: it
   * came back). A warm transfer to an operator completed: the call is theirs (calls.operator_id: they
   * write to it now), and the transferring operator keeps read access (call_access), audited. Failed
   * after the colleague joined: the read access their joining gave is revoked, audited.
   */
  private async transferOutcome(id: string, callId: string, outcome: 'connected' | 'completed' | 'failed', at: Date): Promise<void> {
    await this.db.transaction(async (m) => {
      const rows: { outcome: string; mode: string; to_staff_id: string | null; from_staff_id: string }[] = await m.query(
        'SELECT outcome, mode, to_staff_id, from_staff_id FROM call_transfers WHERE id = ? AND call_id = ? FOR UPDATE',
        [id, callId],
      );
      if (!rows.length) throw new CallRowMissing(callId, `has no transfer ${id} yet`);
      const r = rows[0];
      if (r.outcome === outcome || r.outcome === 'completed' || r.outcome === 'failed') return;
      await m.query(`UPDATE call_transfers SET outcome = ?, ended_at = IF(? IN ('completed', 'failed'), ?, ended_at) WHERE id = ?`, [
        outcome,
        outcome,
        at,
        id,
      ]);
      await this.audit.append(
        { actorRole: 'system', action: `call.transfer_${outcome}`, targetType: 'call', targetId: callId, detail: { transferId: id } },
        m,
      );
      if (outcome === 'connected' && r.mode === 'warm' && r.to_staff_id)
        await this.grant(m, callId, r.to_staff_id, r.from_staff_id, id, at);
      if (outcome === 'completed' && r.mode === 'warm' && r.to_staff_id) {
        await m.query('UPDATE calls SET operator_id = ? WHERE id = ?', [r.to_staff_id, callId]);
        await this.grant(m, callId, r.from_staff_id, r.from_staff_id, id, at);
      }
      if (outcome === 'failed' && r.mode === 'warm' && r.to_staff_id) await this.revoke(m, callId, r.to_staff_id, id, at);
    });
  }

  /**
   * A supervisor listens, coaches or joins, or changes how: recorded, and audited with the stated
   * reason, before it takes effect (issue 24). `notAfter` (ms since the epoch): the writer gives up
   * then, so a transaction not ready to commit by then rolls back (SupervisionWriteTooLate) rather
   * than leave an entry for a listen-in that was never started. Throws CallRowMissing when the call is
   * not on record yet: then nobody listens either.
   */
  async supervise(e: SupervisionEventPayload, notAfter?: number): Promise<void> {
    await this.supervision(e, notAfter);
  }

  private async supervision(e: SupervisionEventPayload, notAfter?: number): Promise<void> {
    await this.db.transaction(async (m) => {
      await this.callExists(m, e.callId);
      const have = await m.query('SELECT id FROM call_supervisions WHERE id = ?', [e.id]);
      if (have.length) return;
      await m.query('INSERT INTO call_supervisions (id, call_id, supervisor_id, mode, started_at) VALUES (?, ?, ?, ?, ?)', [
        e.id,
        e.callId,
        e.supervisorId,
        e.mode,
        new Date(e.at),
      ]);
      await this.audit.append(
        {
          actorId: e.supervisorId,
          actorRole: 'supervisor',
          action: 'call.supervise',
          targetType: 'call',
          targetId: e.callId,
          detail: { supervisionId: e.id, mode: e.mode, reason: e.reason },
        },
        m,
      );
      if (notAfter !== undefined && Date.now() > notAfter) throw new SupervisionWriteTooLate(e.id);
    });
  }

  private async supervisionEnded(e: Extract<ConferenceEventPayload, { kind: 'supervision_ended' }>): Promise<void> {
    await this.db.transaction(async (m) => {
      // Abandoned: the call row's lock first, which the supervision's own write takes first too, so a
      // write still committing is waited for (and then closed here), never missed.
      if (e.abandoned) await m.query('SELECT id FROM calls WHERE id = ? FOR UPDATE', [e.callId]);
      const rows: { ended_at: Date | null }[] = await m.query('SELECT ended_at FROM call_supervisions WHERE id = ? FOR UPDATE', [e.id]);
      if (!rows.length) {
        // Abandoned before anyone listened, and never written: nothing to close.
        if (e.abandoned) return;
        throw new CallRowMissing(e.callId, `has no supervision ${e.id} yet`);
      }
      if (rows[0].ended_at) return;
      await m.query('UPDATE call_supervisions SET ended_at = ? WHERE id = ?', [new Date(e.at), e.id]);
      await this.audit.append(
        {
          actorId: e.supervisorId,
          actorRole: 'supervisor',
          action: 'call.unsupervise',
          targetType: 'call',
          targetId: e.callId,
          detail: { supervisionId: e.id, ...(e.abandoned ? { abandoned: true } : {}) },
        },
        m,
      );
    });
  }
}
