import type * as Contract from '@hotline/contract';
import { COMPLAINT_STATUSES, DELETION_REQUEST_STATUSES, STATS_PERIODS, WRAP_UP_CATEGORIES } from '@hotline/contract';
import type { AuditEntryView, AuditPage, AuditVerification } from '@hotline/audit';
import type { CallDetail, CallNote, CallSummary, CallerReach, CertificateView, EscalationMeta, HoldView } from '@hotline/calls';
import type { RetentionReport } from '@hotline/retention';
import type { AccessReport } from './audit/access-report.service';
import { CALL_ACCESS_ACTIONS } from './audit/access-kinds';
import type { ComplaintMeta } from './complaints/complaints.service';
import { DELETION_REQUEST_STATUS_VALUES } from './deletion-requests/dto';
import { RESEARCH_CATEGORIES } from './research/anonymise';
import type { PeriodReport, ResearchExport } from './research/release';
import { PERIODS } from './stats/aggregate';

/** A value as JSON carries it: a Date becomes its ISO string. */
type Json<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Json<U>[]
    : T extends (...args: any[]) => unknown
      ? never
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;
/** True when A and B are the same type (each assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** True when what records sends (A) is what the console reads (B): the console may read it less narrowly (a policy name as a string). */
type Fits<A, B> = [A] extends [B] ? true : false;

/**
 * The console reads records' answers as libs/contract types; records builds them from its own
 * (Date-typed) ones. `npm run typecheck` fails here the day the two drift apart: each line below must
 * be `true`.
 */
const sameShapes: true[] = [
  true satisfies Same<Json<RetentionReport>, Contract.RetentionReport>,
  true satisfies Same<Json<HoldView>, Contract.LegalHold>,
  true satisfies Same<Json<CertificateView>, Contract.DeletionCertificateSummary>,
  true satisfies Same<Json<ComplaintMeta>, Contract.ComplaintSummary>,
  true satisfies Same<Json<AuditEntryView>, Contract.AuditEntry>,
  true satisfies Same<Json<AuditPage>, Contract.AuditEntryPage>,
  true satisfies Same<Json<AuditVerification>, Contract.AuditVerification>,
  true satisfies Same<Json<CallerReach>, Contract.CallerReach>,
  true satisfies Same<Json<AccessReport>, Contract.AccessReport>,
  true satisfies Same<Json<PeriodReport>, Contract.ResearchPeriodReport>,
  true satisfies Same<Json<Omit<ResearchExport, 'rows'>>, Contract.ResearchExportReport>,
];
const fittingShapes: true[] = [
  true satisfies Fits<Json<CallSummary>, Contract.CallSummaryView>,
  true satisfies Fits<Json<CallNote>, Contract.CallNoteView>,
  true satisfies Fits<Json<EscalationMeta>, Contract.EscalationMetaView>,
  true satisfies Fits<Json<CallDetail>, Contract.CallDetailView>,
  // …and the console reads every field records sends (nothing of it is left out of the contract).
  true satisfies Same<keyof CallSummary, keyof Contract.CallSummaryView>,
  true satisfies Same<keyof CallDetail, keyof Contract.CallDetailView>,
];

describe('the contract with the console', () => {
  it("matches records' own types (checked by the type checker: see sameShapes)", () => {
    expect([...sameShapes, ...fittingShapes].every(Boolean)).toBe(true);
  });

  it('writes each vocabulary once: records uses the lists the console offers', () => {
    expect(PERIODS).toBe(STATS_PERIODS);
    expect(RESEARCH_CATEGORIES).toBe(WRAP_UP_CATEGORIES);
    expect(DELETION_REQUEST_STATUS_VALUES).toEqual([...DELETION_REQUEST_STATUSES]);
    expect(COMPLAINT_STATUSES).toEqual(['received', 'investigating', 'resolved']);
    const hows: readonly string[] = ['own_call', 'break_glass', 'listen_in', 'supervision'] satisfies Contract.AccessHow[];
    for (const { how } of Object.values(CALL_ACCESS_ACTIONS)) expect(hows).toContain(how);
  });
});
