import { Injectable } from '@nestjs/common';
import { AuditEntryView, AuditSearch, AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import { CallOversight, CallerReach } from '@hotline/calls';
import { ACCESS_ACTIONS, AccessHow, AccessKind, CALL_ACCESS_ACTIONS } from './access-kinds';

/** Most audit entries one report reads; a report that hits it says so (`truncated`). */
export const ACCESS_REPORT_MAX_ENTRIES = 50_000;

export interface AccessEntry {
  seq: number;
  at: Date;
  callId: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  access: AccessKind;
  how: AccessHow;
  /** The stated reason of a break-glass read or a supervision, as its actor gave it. */
  reason: string | null;
}

export interface AccessReport {
  generatedAt: Date;
  staffId: string | null;
  callId: string | null;
  from: Date | null;
  to: Date | null;
  accesses: AccessEntry[];
  /** Calls touched, each once: how many accesses of each kind. */
  calls: { callId: string; accesses: number; how: AccessHow[]; first: Date; last: Date }[];
  /** Staff who touched (for a call report): each once. */
  staff: { actorId: string | null; actorRole: string | null; accesses: number; how: AccessHow[] }[];
  callers: CallerReach;
  truncated: boolean;
}

/**
 * Access reports for a breach: every access to a call (CALL_ACCESS_ACTIONS) by one member of staff
 * in a time range, or by anyone to one call; the distinct callers those calls touch (the call rows'
 * pseudonym link: the trail never holds pseudonyms), and how many of them could be told. Each
 * report is itself audited.
 */
@Injectable()
export class AccessReportService {
  constructor(
    private readonly search: AuditSearch,
    private readonly audit: AuditService,
    private readonly calls: CallOversight,
  ) {}

  async report(user: Principal, q: { staffId?: string; callId?: string; from?: Date; to?: Date }): Promise<AccessReport> {
    const filter = q.callId
      ? { targetType: 'call', targetId: q.callId, actions: ACCESS_ACTIONS, from: q.from, to: q.to }
      : { actorId: q.staffId, targetType: 'call', actions: ACCESS_ACTIONS, from: q.from, to: q.to };
    const { entries, truncated } = await this.search.all(filter, ACCESS_REPORT_MAX_ENTRIES);
    const accesses = entries.reverse().map(toAccess);
    const callIds = [...new Set(accesses.map((a) => a.callId))];
    const callers = await this.calls.reach(callIds);
    const byCall = new Map<string, AccessReport['calls'][number]>();
    const byStaff = new Map<string, AccessReport['staff'][number]>();
    for (const a of accesses) {
      const c = byCall.get(a.callId) ?? { callId: a.callId, accesses: 0, how: [], first: a.at, last: a.at };
      c.accesses++;
      if (!c.how.includes(a.how)) c.how.push(a.how);
      c.last = a.at;
      byCall.set(a.callId, c);
      const key = a.actorId ?? '';
      const s = byStaff.get(key) ?? { actorId: a.actorId, actorRole: a.actorRole, accesses: 0, how: [] };
      s.accesses++;
      if (!s.how.includes(a.how)) s.how.push(a.how);
      byStaff.set(key, s);
    }
    const report: AccessReport = {
      generatedAt: new Date(),
      staffId: q.callId ? null : (q.staffId ?? null),
      callId: q.callId ?? null,
      from: q.from ?? null,
      to: q.to ?? null,
      accesses,
      calls: [...byCall.values()],
      staff: [...byStaff.values()],
      callers,
      truncated,
    };
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'audit.access_report',
      targetType: q.callId ? 'call' : 'staff',
      targetId: q.callId ?? q.staffId ?? null,
      detail: {
        ...(q.from ? { from: q.from.toISOString() } : {}),
        ...(q.to ? { to: q.to.toISOString() } : {}),
        accesses: accesses.length,
        calls: callIds.length,
        distinctCallers: callers.distinctCallers,
      },
    });
    return report;
  }
}

function toAccess(e: AuditEntryView): AccessEntry {
  const kind = CALL_ACCESS_ACTIONS[e.action];
  const reason = typeof e.detail?.reason === 'string' ? e.detail.reason : null;
  return {
    seq: e.seq,
    at: e.at,
    callId: e.targetId ?? '',
    actorId: e.actorId,
    actorRole: e.actorRole,
    action: e.action,
    access: kind.access,
    how: kind.how,
    reason,
  };
}
