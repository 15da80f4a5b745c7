/** One step of a call's destruction, as its deletion certificate records it. */
export interface DeletionStep {
  step: string;
  outcome: 'done' | 'already_done' | 'skipped' | 'failed' | 'queued';
  at: string;
  detail?: string;
}

import type { CallStatus, DisclosableField, RiskLevel } from '@hotline/contract';
import type { PolicyName } from '@hotline/config';

/** A call's metadata: what a list shows and what access decisions need. No content. */
export interface CallSummary {
  callId: string;
  status: CallStatus;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  /** Seconds the caller waited: until answered, or until they hung up unanswered; null while waiting. */
  waitSeconds: number | null;
  riskLevel: RiskLevel;
  operatorId: string | null;
  retentionPolicy: PolicyName;
  retentionDeadline: Date;
  recordingConsent: boolean;
  wrapupCategory: string | null;
}

/**
 * A note as read. `text` is null (and `unavailable` true) when it cannot be decrypted: its key was
 * destroyed, or the ciphertext is not this note's (moved or tampered). Ciphertext is never shown.
 */
export interface CallNote {
  id: string;
  text: string | null;
  unavailable?: true;
  authorId: string;
  amendsNoteId: string | null;
  createdAt: Date;
}

export interface AssessmentEntry {
  riskLevel: RiskLevel;
  assessedBy: string;
  at: Date;
}

/** The encrypted part of a duty-to-warn record. */
export interface EscalationDetails {
  disclosedTo: string;
  legalBasis: string;
  fieldsDisclosed: DisclosableField[];
  emergencyContactConfirmedAt: string | null;
  notes: string | null;
}

export interface EscalationMeta {
  id: string;
  operatorId: string;
  riskLevel: RiskLevel;
  createdAt: Date;
  cosignedBy: string | null;
  cosignedAt: Date | null;
}

export type CallEscalation = EscalationMeta & (EscalationDetails | ({ [K in keyof EscalationDetails]: null } & { unavailable: true }));

export interface CallDetail extends CallSummary {
  notes: CallNote[];
  assessment: { riskLevel: RiskLevel; history: AssessmentEntry[] };
  escalations: CallEscalation[];
  legalHold: { placedAt: Date } | null;
}

/** What remains of a destroyed call (no content, no pseudonym). */
export interface DeletionCertificate {
  id: string;
  callId: string;
  reason: string;
  retentionPolicy: string;
  retentionDeadline: Date;
  deletionRequestId: string | null;
  destroyedAt: Date;
  steps: DeletionStep[];
}

export interface CallPage {
  items: CallSummary[];
  /** Opaque; pass back as `cursor` for the next (older) page. Null on the last page. */
  nextCursor: string | null;
}
