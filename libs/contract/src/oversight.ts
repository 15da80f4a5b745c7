/**
 * Records' answers to the oversight consoles (records officer, auditor; complaints for supervisors
 * too), as JSON: instants are ISO 8601 strings. Records' own types (Date-typed, in its libs) are
 * checked against these in apps/records/src/console-contract.spec.ts; its DTO classes that already
 * speak strings implement them.
 */

/** A legal hold (`GET /legal-holds`: in force first, then lifted in the last 30 days). */
export interface LegalHold {
  id: string;
  callId: string;
  reason: string;
  placedBy: string;
  placedAt: string;
  liftedBy: string | null;
  liftedAt: string | null;
}

/** Why a call was destroyed. */
export const DESTRUCTION_REASONS = ['retention', 'caller_request'] as const;
export type DestructionReason = (typeof DESTRUCTION_REASONS)[number];

/** A deletion certificate without its step log (`GET /deletion-certificates`). */
export interface DeletionCertificateSummary {
  id: string;
  callId: string;
  reason: string;
  retentionPolicy: string;
  retentionDeadline: string;
  deletionRequestId: string | null;
  destroyedAt: string;
  steps: number;
}

export const DELETION_REQUEST_STATUSES = ['pending', 'in_progress', 'done', 'partly_held', 'cancelled'] as const;
export type DeletionRequestStatus = (typeof DELETION_REQUEST_STATUSES)[number];

/** A caller's request, by phone, to delete their calls (`GET /deletion-requests`). */
export interface DeletionRequestView {
  id: string;
  caller: string;
  requestedAt: string;
  verifiedBy: string;
  status: string;
  executeAfter: string;
  callsTotal: number;
  callsHeld: number;
  callsDeleted: number;
  completedAt: string | null;
  cancelledAt: string | null;
  closingSmsPending: boolean;
}

/** A page of a list that pages by an opaque cursor: `nextCursor` is null on the last page. */
export interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

/** One retention policy in the retention report. */
export interface RetentionPolicyReport {
  policy: string;
  duration: string | null;
  calls: number;
  held: number;
  oldestUnheld: null | { startedAt: string; ageSeconds: number; policySeconds: number | null; deadline: string; withinPolicy: boolean };
}

/** `GET /retention/report`: the self-test of retention. */
export interface RetentionReport {
  generatedAt: string;
  scanEvery: string;
  policies: RetentionPolicyReport[];
  overdue: number;
  awaitingDeletion: number;
  overdueRecordings: number;
  holdsInForce: { holds: number; calls: number };
  deletions: { lastDay: number; lastWeek: number; byReasonLastWeek: Record<string, number> };
  twilioCleanup: { calls: number; oldestQueuedAt: string | null; overdue: boolean };
  failures: { lastDay: number; lastWeek: number };
  ok: boolean;
}

export const COMPLAINT_CHANNELS = ['phone', 'email', 'letter', 'in_person', 'other'] as const;
export type ComplaintChannel = (typeof COMPLAINT_CHANNELS)[number];
export const COMPLAINT_CATEGORIES = ['conduct', 'service', 'privacy', 'access', 'other'] as const;
export type ComplaintCategory = (typeof COMPLAINT_CATEGORIES)[number];
export const COMPLAINT_STATUSES = ['received', 'investigating', 'resolved'] as const;
export type ComplaintStatus = (typeof COMPLAINT_STATUSES)[number];
/** The workflow: each status and the one it may move on to. */
export const COMPLAINT_NEXT_STATUS: Readonly<Record<ComplaintStatus, ComplaintStatus | null>> = {
  received: 'investigating',
  investigating: 'resolved',
  resolved: null,
};

/** A complaint as listed (`GET /complaints`): no text. */
export interface ComplaintSummary {
  id: string;
  receivedAt: string;
  receivedVia: string;
  callId: string | null;
  staffId: string | null;
  category: string;
  status: ComplaintStatus;
  dueAt: string;
  overdue: boolean;
  recordedBy: string;
  updatedAt: string;
  resolvedAt: string | null;
}

/** One audit entry as an auditor sees it (`GET /audit/entries`, newest first). */
export interface AuditEntry {
  seq: number;
  at: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditEntryPage {
  entries: AuditEntry[];
  nextCursor: string | null;
}

/** `GET /audit/verify`: the hash chain and the signed checkpoints. */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  firstBadEntry?: { seq: number; problem: string };
  checkpoints?: { files: number; coveredToSeq: number; problems: string[] };
}

export const ACCESS_KINDS = ['read', 'write', 'listen'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];
export const ACCESS_HOWS = ['own_call', 'break_glass', 'listen_in', 'supervision'] as const;
export type AccessHow = (typeof ACCESS_HOWS)[number];

export interface AccessEntry {
  seq: number;
  at: string;
  callId: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  access: AccessKind;
  how: AccessHow;
  reason: string | null;
}

/** How many callers a set of calls touches, and how many of them could be told. */
export interface CallerReach {
  callsFound: number;
  callsDestroyed: number;
  callsWithheld: number;
  distinctCallers: number;
  canBeTold: number;
  cannotBeTold: number;
}

/** `GET /audit/access-report`: every access to a call by one member of staff, or by anyone to one call. */
export interface AccessReport {
  generatedAt: string;
  staffId: string | null;
  callId: string | null;
  from: string | null;
  to: string | null;
  accesses: AccessEntry[];
  calls: { callId: string; accesses: number; how: AccessHow[]; first: string; last: string }[];
  staff: { actorId: string | null; actorRole: string | null; accesses: number; how: AccessHow[] }[];
  callers: CallerReach;
  truncated: boolean;
}

/** What research data is released by: calendar months (2025-03) or ISO weeks (2025-W10). */
export const RESEARCH_PERIODS = ['month', 'week'] as const;
export type ResearchPeriod = (typeof RESEARCH_PERIODS)[number];

/** One period of a research export: released, or withheld and why. */
export interface ResearchPeriodReport {
  period: string;
  status: 'released' | 'withheld';
  reason: 'fewer_than_k' | 'changed' | 'overlaps' | null;
  explanation: string | null;
  firstReleasedAt: string | null;
  considered: number | null;
  exported: number;
  suppressedRows: number | null;
  suppressedCombinations: number | null;
  level: number | null;
  generalisation: string | null;
  levels: { level: number; suppressedRows: number }[] | null;
}

/** `GET /research/export` (its rows left out: the console shows the report and downloads the CSV). */
export interface ResearchExportReport {
  period: ResearchPeriod;
  from: string;
  to: string;
  report: {
    k: number;
    considered: number;
    exported: number;
    suppressedRows: number;
    suppressedCombinations: number;
    periods: ResearchPeriodReport[];
  };
}
