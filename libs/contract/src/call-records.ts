import type { CallStatus, DisclosableField, RiskLevel } from './calls';

/**
 * Records' answers about calls (`GET /calls`, `GET /calls/:callId`, its escalations) as the console
 * reads them: JSON, instants as ISO 8601 strings. Records' own (Date-typed) models must fit these:
 * apps/records/src/console-contract.spec.ts.
 */
export interface CallSummaryView {
  callId: string;
  status: CallStatus;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  /** Seconds the caller waited: until answered, or until they hung up unanswered; null while waiting. */
  waitSeconds: number | null;
  riskLevel: RiskLevel;
  operatorId: string | null;
  retentionPolicy: string;
  retentionDeadline: string;
  recordingConsent: boolean;
  wrapupCategory: string | null;
}

export interface CallPage {
  items: CallSummaryView[];
  nextCursor: string | null;
}

export interface CallNoteView {
  id: string;
  /** null when the content can no longer be decrypted (then `unavailable`). */
  text: string | null;
  unavailable?: boolean;
  authorId: string;
  amendsNoteId: string | null;
  createdAt: string;
}

export interface AssessmentEntryView {
  riskLevel: RiskLevel;
  assessedBy: string;
  at: string;
}

/** An escalation's ids, times and co-signature, no content (what a supervisor co-signs from). */
export interface EscalationMetaView {
  id: string;
  operatorId: string;
  riskLevel: RiskLevel;
  createdAt: string;
  cosignedBy: string | null;
  cosignedAt: string | null;
}

/** An escalation with its content; every content field null (and `unavailable`) when it can no longer be decrypted. */
export interface EscalationView extends EscalationMetaView {
  disclosedTo: string | null;
  legalBasis: string | null;
  fieldsDisclosed: DisclosableField[] | null;
  emergencyContactConfirmedAt: string | null;
  notes: string | null;
  unavailable?: boolean;
}

export interface CallDetailView extends CallSummaryView {
  notes: CallNoteView[];
  assessment: { riskLevel: RiskLevel; history: AssessmentEntryView[] };
  escalations: EscalationView[];
  legalHold: { placedAt: string } | null;
}
