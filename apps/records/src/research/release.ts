import { createHash } from 'crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditSearch, AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import { CallOversight } from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { ResearchRow, SuppressionReport, anonymise } from './anonymise';
import { PeriodKind, ReleasePeriod, kindOfId, overlaps, parsePeriod, SETTLE_MS } from './periods';

/**
 * Releases of research data, period by period, so that no two exports can be subtracted into a few
 * calls.
 *
 * A release block is one whole, ended period (a calendar month, or an ISO week with
 * RESEARCH_PERIOD=week, in UTC), anonymised on its own calls alone (k-anonymous by itself: every row
 * identical to at least k - 1 others of the same period, and every row says its period). Its content
 * is fixed at its first release: the audit entry of each export (`research.exported`) records a
 * fingerprint of every period it released, and a later export releases a period again only if it
 * comes out identical; a period that has changed since (calls destroyed by retention or at the
 * caller's request, consent withdrawn, a wrap-up edited, RESEARCH_K changed) is withheld, and so is
 * a period that overlaps one released under the other RESEARCH_PERIOD. Calls that end more than a day
 * after their period (SETTLE_MS) are never part of it, so a block does not grow either.
 *
 * So every export ever answered is a union of whole blocks, the blocks are disjoint, and each has
 * one content. The difference between any two exports (any ranges, asked at any time) is therefore a
 * union of whole blocks: empty, or each block's rows in full, k-anonymous in themselves (at least k
 * rows, every one identical to k - 1 others). It is never a few calls.
 */

export interface PeriodReport {
  period: string;
  status: 'released' | 'withheld';
  /** Why nothing of it is exported: fewer than k consenting calls, changed since first released, overlaps another release. */
  reason: 'fewer_than_k' | 'changed' | 'overlaps' | null;
  explanation: string | null;
  /** When this content was first released (now, for a first release); null when withheld as changed or overlapping. */
  firstReleasedAt: Date | null;
  considered: number | null;
  exported: number;
  suppressedRows: number | null;
  suppressedCombinations: number | null;
  level: number | null;
  generalisation: string | null;
  levels: { level: number; suppressedRows: number }[] | null;
}

export interface ResearchExport {
  period: PeriodKind;
  from: string;
  to: string;
  rows: ResearchRow[];
  report: {
    k: number;
    considered: number;
    exported: number;
    suppressedRows: number;
    suppressedCombinations: number;
    periods: PeriodReport[];
  };
}

interface Ledger {
  /** Period id: the fingerprint of its first release, and when. */
  released: Map<string, { fingerprint: string; at: Date }>;
}

const fingerprint = (content: unknown): string => createHash('sha256').update(JSON.stringify(content)).digest('hex');

@Injectable()
export class ResearchReleases {
  constructor(
    private readonly calls: CallOversight,
    private readonly audit: AuditService,
    private readonly auditSearch: AuditSearch,
    private readonly clock: Clock,
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(ENV) private readonly env: Env,
  ) {}

  get kind(): PeriodKind {
    return this.env.RESEARCH_PERIOD ?? 'month';
  }

  /**
   * Exports `periods` (whole, ended, of RESEARCH_PERIOD: the caller checked), one export at a time
   * (a named lock: two exports racing cannot both make a first release of one period), audited.
   */
  async export(user: Principal, periods: ReleasePeriod[], format: 'json' | 'csv'): Promise<ResearchExport> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const [{ got }] = await runner.query("SELECT GET_LOCK(CONCAT(DATABASE(), '.research_release'), 30) AS got");
      if (Number(got) !== 1) throw new Error('the research release lock was not free within 30 s');
      try {
        return await this.exportLocked(user, periods, format);
      } finally {
        await runner.query("SELECT RELEASE_LOCK(CONCAT(DATABASE(), '.research_release'))");
      }
    } finally {
      await runner.release();
    }
  }

  private async exportLocked(user: Principal, periods: ReleasePeriod[], format: 'json' | 'csv'): Promise<ResearchExport> {
    const k = this.env.RESEARCH_K;
    const now = this.clock.now();
    const ledger = await this.ledger();
    const rows: ResearchRow[] = [];
    const reports: PeriodReport[] = [];
    const releasedNow: Record<string, string> = {};
    const withheld: Record<string, string> = {};
    for (const p of periods) {
      const { report, periodRows, fp } = await this.release(p, ledger, k, now);
      reports.push(report);
      if (fp) releasedNow[p.id] = fp;
      else withheld[p.id] = report.reason!;
      rows.push(...periodRows);
    }
    const sum = (key: 'considered' | 'suppressedRows' | 'suppressedCombinations') => reports.reduce((s, r) => s + (r[key] ?? 0), 0);
    const result: ResearchExport = {
      period: this.kind,
      from: periods[0].id,
      to: periods[periods.length - 1].id,
      rows,
      report: {
        k,
        considered: sum('considered'),
        exported: rows.length,
        suppressedRows: sum('suppressedRows'),
        suppressedCombinations: sum('suppressedCombinations'),
        periods: reports,
      },
    };
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'research.exported',
      detail: {
        period: this.kind,
        from: result.from,
        to: result.to,
        format,
        k,
        considered: result.report.considered,
        exported: result.report.exported,
        suppressedRows: result.report.suppressedRows,
        suppressedCombinations: result.report.suppressedCombinations,
        released: releasedNow,
        withheld,
      },
    });
    return result;
  }

  /** One period: released as first released, or withheld (and why). */
  private async release(
    p: ReleasePeriod,
    ledger: Ledger,
    k: number,
    now: Date,
  ): Promise<{ report: PeriodReport; periodRows: ResearchRow[]; fp: string | null }> {
    const blank = {
      considered: null,
      exported: 0,
      suppressedRows: null,
      suppressedCombinations: null,
      level: null,
      generalisation: null,
      levels: null,
    };
    const other = [...ledger.released.keys()].find((id) => {
      const kind = kindOfId(id);
      const q = id !== p.id && kind ? parsePeriod(kind, id) : null;
      return q !== null && overlaps(p, q);
    });
    if (other)
      return {
        report: {
          period: p.id,
          status: 'withheld',
          reason: 'overlaps',
          explanation: `${p.id} overlaps ${other}, released before by ${kindOfId(other)}: periods of another RESEARCH_PERIOD are not released over it`,
          firstReleasedAt: null,
          ...blank,
        },
        periodRows: [],
        fp: null,
      };
    // Calls that started in the period and had ended by the time it is first released (a day after its end).
    const calls = (await this.calls.researchCalls(p.start, p.end)).filter(
      (c) => c.endedAt && c.endedAt.getTime() < p.end.getTime() + SETTLE_MS,
    );
    const small = calls.length < k;
    const { rows, report } = anonymise(small ? [] : calls, k, p.id);
    const content = small ? { k, fewerThanK: true } : { k, rows, report: countsOf(report) };
    const fp = fingerprint(content);
    const before = ledger.released.get(p.id);
    if (before && before.fingerprint !== fp)
      return {
        report: {
          period: p.id,
          status: 'withheld',
          reason: 'changed',
          explanation: `${p.id} has changed since it was first released on ${before.at.toISOString().slice(0, 10)} (calls destroyed, consents withdrawn or RESEARCH_K changed since): that release stands, and is not released again`,
          firstReleasedAt: null,
          ...blank,
        },
        periodRows: [],
        fp: null,
      };
    const firstReleasedAt = before?.at ?? now;
    if (small)
      return {
        report: {
          period: p.id,
          status: 'withheld',
          reason: 'fewer_than_k',
          explanation: `fewer than ${k} consenting calls in ${p.id}: nothing of it is exported, not even how many`,
          firstReleasedAt,
          ...blank,
        },
        periodRows: [],
        fp,
      };
    return {
      report: {
        period: p.id,
        status: 'released',
        reason: null,
        explanation: null,
        firstReleasedAt,
        considered: report.considered,
        exported: report.exported,
        suppressedRows: report.suppressedRows,
        suppressedCombinations: report.suppressedCombinations,
        level: report.level,
        generalisation: report.generalisation,
        levels: report.levels,
      },
      periodRows: rows,
      fp,
    };
  }

  /** What was released before: the first fingerprint of every period, from the audit trail. */
  private async ledger(): Promise<Ledger> {
    const { entries } = await this.auditSearch.all({ action: 'research.exported' }, 1_000_000);
    const released = new Map<string, { fingerprint: string; at: Date }>();
    for (const e of entries.reverse()) {
      const r = e.detail?.released;
      if (!r || typeof r !== 'object') continue;
      for (const [id, fp] of Object.entries(r as Record<string, unknown>))
        if (typeof fp === 'string' && !released.has(id)) released.set(id, { fingerprint: fp, at: e.at });
    }
    return { released };
  }
}

const countsOf = (r: SuppressionReport) => ({
  considered: r.considered,
  exported: r.exported,
  suppressedRows: r.suppressedRows,
  suppressedCombinations: r.suppressedCombinations,
  level: r.level,
});
