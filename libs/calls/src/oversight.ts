import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { ConsentKind } from '@hotline/contract';
import { HOLD_IN_FORCE } from './legal-holds';

/** How many callers a set of calls touches, and how many of them could be told. Counts only. */
export interface CallerReach {
  /** Calls asked about that still have their row. */
  callsFound: number;
  /** Calls asked about whose row is gone (destroyed): their callers cannot be known any more. */
  callsDestroyed: number;
  /** Calls found with no caller pseudonym (withheld number): each a caller of its own, none reachable. */
  callsWithheld: number;
  /** Distinct callers: distinct pseudonyms, plus one per withheld call. */
  distinctCallers: number;
  /** Callers with a follow-up consent on record (granted on one of their calls, not withdrawn). */
  canBeTold: number;
  /** The others (no follow-up consent, withheld number). */
  cannotBeTold: number;
}

/** One consenting call's structured fields, for anonymised research data: no id, number, pseudonym or content. */
export interface ResearchCall {
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  status: string;
  riskLevel: string;
  wrapupCategory: string | null;
  escalations: number;
}

/** A legal hold, as the records officer's console lists it (the reason is the officer's own words). */
export interface HoldView {
  id: string;
  callId: string;
  reason: string;
  placedBy: string;
  placedAt: Date;
  liftedBy: string | null;
  liftedAt: Date | null;
}

/** A deletion certificate without its step log (GET /calls/:callId answers 410 with the whole of it). */
export interface CertificateView {
  id: string;
  callId: string;
  reason: string;
  retentionPolicy: string;
  retentionDeadline: Date;
  deletionRequestId: string | null;
  destroyedAt: Date;
  steps: number;
}

/**
 * What oversight reads of the call record: who a set of calls touches (breach access reports), the
 * consents that say who may be told or counted in research. Counts and structured fields only.
 */
@Injectable()
export class CallOversight {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async reach(callIds: string[]): Promise<CallerReach> {
    const ids = [...new Set(callIds)];
    if (!ids.length) return { callsFound: 0, callsDestroyed: 0, callsWithheld: 0, distinctCallers: 0, canBeTold: 0, cannotBeTold: 0 };
    const calls: { id: string; caller_pseudonym: string | null }[] = [];
    for (let i = 0; i < ids.length; i += 1000)
      calls.push(...(await this.db.query('SELECT id, caller_pseudonym FROM calls WHERE id IN (?)', [ids.slice(i, i + 1000)])));
    const pseudonyms = [...new Set(calls.map((c) => c.caller_pseudonym).filter((p): p is string => !!p))];
    const withheld = calls.filter((c) => !c.caller_pseudonym).length;
    let told = 0;
    for (let i = 0; i < pseudonyms.length; i += 1000) {
      const [row] = await this.db.query(
        `SELECT COUNT(DISTINCT caller_pseudonym) AS n FROM consents
          WHERE caller_pseudonym IN (?) AND kind = 'follow_up' AND granted = 1 AND withdrawn_at IS NULL`,
        [pseudonyms.slice(i, i + 1000)],
      );
      told += Number(row.n);
    }
    const distinct = pseudonyms.length + withheld;
    return {
      callsFound: calls.length,
      callsDestroyed: ids.length - calls.length,
      callsWithheld: withheld,
      distinctCallers: distinct,
      canBeTold: told,
      cannotBeTold: distinct - told,
    };
  }

  /** Holds in force (all of them), then those lifted in the last `liftedWithinMs`, newest first. */
  async holds(liftedSince: Date): Promise<HoldView[]> {
    const rows: any[] = await this.db.query(
      `SELECT id, call_id, reason, placed_by, placed_at, lifted_by, lifted_at FROM legal_holds
        WHERE ${HOLD_IN_FORCE} OR lifted_at >= ? ORDER BY lifted_at IS NOT NULL, placed_at DESC LIMIT 1000`,
      [liftedSince],
    );
    return rows.map((r) => ({
      id: r.id,
      callId: r.call_id,
      reason: r.reason,
      placedBy: r.placed_by,
      placedAt: new Date(r.placed_at),
      liftedBy: r.lifted_by,
      liftedAt: r.lifted_at ? new Date(r.lifted_at) : null,
    }));
  }

  /** Deletion certificates, newest first, `limit` of them destroyed before `before` (when given). */
  async certificates(limit: number, before?: Date): Promise<CertificateView[]> {
    const rows: any[] = await this.db.query(
      `SELECT id, call_id, reason, retention_policy, retention_deadline, deletion_request_id, destroyed_at, JSON_LENGTH(steps) AS steps
         FROM deletion_certificates ${before ? 'WHERE destroyed_at < ?' : ''} ORDER BY destroyed_at DESC, id LIMIT ?`,
      before ? [before, limit] : [limit],
    );
    return rows.map((r) => ({
      id: r.id,
      callId: r.call_id,
      reason: r.reason,
      retentionPolicy: r.retention_policy,
      retentionDeadline: new Date(r.retention_deadline),
      deletionRequestId: r.deletion_request_id,
      destroyedAt: new Date(r.destroyed_at),
      steps: Number(r.steps),
    }));
  }

  /** Records a caller's answer to a consent question (follow-up, research) for a call. */
  async recordConsent(
    input: { callId: string; callerPseudonym: string | null; kind: ConsentKind; granted: boolean; wordingVersion: string; at: Date },
    tx?: EntityManager,
  ): Promise<void> {
    await (tx ?? this.db).query(
      'INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [randomUUID(), input.callId, input.callerPseudonym, input.kind, input.granted ? 1 : 0, input.wordingVersion, input.at],
    );
  }

  /** The structured fields of every ended call whose caller gave research consent on it (not withdrawn), started in [from, to). */
  async researchCalls(from: Date, to: Date): Promise<ResearchCall[]> {
    const rows: any[] = await this.db.query(
      `SELECT c.started_at, c.answered_at, c.ended_at, c.status, c.risk_level, c.wrapup_category,
              (SELECT COUNT(*) FROM escalations e WHERE e.call_id = c.id) AS escalations
         FROM calls c
        WHERE c.started_at >= ? AND c.started_at < ? AND c.ended_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM consents k WHERE k.call_id = c.id AND k.kind = 'research' AND k.granted = 1 AND k.withdrawn_at IS NULL)
        ORDER BY c.started_at`,
      [from, to],
    );
    return rows.map((r) => ({
      startedAt: new Date(r.started_at),
      answeredAt: r.answered_at ? new Date(r.answered_at) : null,
      endedAt: r.ended_at ? new Date(r.ended_at) : null,
      status: r.status,
      riskLevel: r.risk_level,
      wrapupCategory: r.wrapup_category,
      escalations: Number(r.escalations),
    }));
  }
}
