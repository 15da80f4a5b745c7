import type { EntityManager } from 'typeorm';
import type { RiskLevel } from '@hotline/contract';
import type { PolicyName } from '@hotline/config';
import { CallDetail, CallNote, CallPage, CallSummary, DeletionCertificate, EscalationDetails, EscalationMeta } from './call.model';

/** A unit of work: writes and their audit entry commit together or not at all. */
export type CallTx = EntityManager;

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this server gave out');
    this.name = 'InvalidCursorError';
  }
}

/** The call's data key is gone while its rows remain (it is being destroyed): no new content. */
export class ContentKeyGoneError extends Error {
  constructor(readonly callId: string) {
    super(`the content key of call ${callId} is destroyed`);
    this.name = 'ContentKeyGoneError';
  }
}

export interface NewNote {
  callId: string;
  authorId: string;
  text: string;
  amendsNoteId: string | null;
}

/**
 * The calls port. Content goes in and comes out only through CallMapper; callers see domain
 * objects. Methods taking a `tx` run inside CallRepository.transaction and lock what they rely on.
 */
export abstract class CallRepository {
  /** Runs `work` in one transaction, retried on deadlock. */
  abstract transaction<T>(work: (tx: CallTx) => Promise<T>): Promise<T>;

  /** Newest first; `operatorId` limits to the calls that operator handled. */
  abstract list(filter: { operatorId?: string }, page: { limit: number; cursor?: string }): Promise<CallPage>;

  abstract findSummary(callId: string): Promise<CallSummary | null>;

  /** Read access granted to this member of staff beyond handling the call (a transfer: call_access), and not revoked since. */
  abstract hasReadGrant(callId: string, staffId: string, tx?: CallTx): Promise<boolean>;

  /**
   * Locks the call row against destruction (share mode) and returns it, or null when it is gone.
   * A reader holding this lock sees the whole call; secure deletion waits for it, and a reader
   * that waited for a deletion finds no row (then the certificate).
   */
  abstract lockShared(callId: string, tx: CallTx): Promise<CallSummary | null>;

  /** Locks the call row for a change of the call itself (assessment, escalation, hold). */
  abstract lockExclusive(callId: string, tx: CallTx): Promise<CallSummary | null>;

  /** The call's content, decrypted by the mapper. Call with the row locked (lockShared). */
  abstract readContent(call: CallSummary, tx: CallTx): Promise<CallDetail>;

  /** The deletion certificate of a destroyed call, or null. */
  abstract certificate(callId: string, tx?: CallTx): Promise<DeletionCertificate | null>;

  /** One note, decrypted by the mapper (null if there is no such note). */
  abstract note(noteId: string, tx?: CallTx): Promise<CallNote | null>;

  abstract noteBelongsTo(noteId: string, callId: string, tx?: CallTx): Promise<boolean>;

  abstract addNote(note: NewNote, tx: CallTx): Promise<{ id: string; createdAt: Date }>;

  /** Records an assessment; the call's level becomes it, and its retention never shortens. */
  abstract addAssessment(
    call: CallSummary,
    level: RiskLevel,
    assessedBy: string,
    tx: CallTx,
  ): Promise<{ id: string; riskLevel: RiskLevel; retentionPolicy: PolicyName; retentionDeadline: Date; at: Date }>;

  abstract addEscalation(
    call: CallSummary,
    operatorId: string,
    details: EscalationDetails,
    tx: CallTx,
  ): Promise<{ id: string; createdAt: Date }>;

  abstract escalations(callId: string): Promise<EscalationMeta[]>;

  abstract cosignEscalation(
    callId: string,
    escalationId: string,
    supervisorId: string,
    tx: CallTx,
  ): Promise<{ outcome: 'cosigned'; at: Date } | { outcome: 'already_cosigned' | 'not_found' }>;

  /** The hold in force on the call (see LegalHolds), or null. */
  abstract holdInForce(callId: string, tx?: CallTx): Promise<{ id: string; placedAt: Date } | null>;

  abstract placeHold(callId: string, reason: string, placedBy: string, tx: CallTx): Promise<{ id: string; placedAt: Date }>;

  abstract liftHold(callId: string, liftedBy: string, tx: CallTx): Promise<{ id: string; liftedAt: Date } | null>;

  /**
   * True when the call has encrypted content but its data key is gone: secure deletion destroyed
   * the key and has not yet deleted the rows (it does both under the call's row lock, so only a
   * crash in between leaves this). Such a call is destroyed in effect, never shown in part.
   */
  abstract contentKeyDestroyed(callId: string, tx?: CallTx): Promise<boolean>;

  /** Prepares the call's data key for new content (created on first use, never re-created once content exists). */
  abstract ensureContentKey(callId: string): Promise<void>;
}
