import { Injectable, Logger } from '@nestjs/common';
import { ContentCipher, DataKeyDestroyedError, DecryptionError } from '@hotline/crypto';
import { counter } from '@hotline/observability';
import type { CallStatus, RiskLevel } from '@hotline/contract';
import type { PolicyName } from '@hotline/config';
import { CallEscalation, CallNote, CallSummary, DeletionCertificate, EscalationDetails, EscalationMeta } from './call.model';

/** Rows as the records database returns them (snake_case columns). */
export interface CallRow {
  id: string;
  status: string;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  risk_level: string;
  operator_id: string | null;
  retention_policy: string;
  retention_deadline: Date;
  recording_consent: number | boolean;
  wrapup_category: string | null;
}
export interface NoteRow {
  id: string;
  call_id: string;
  author_id: string;
  amends_note_id: string | null;
  body_enc: Buffer;
  created_at: Date;
}
export interface EscalationRow {
  id: string;
  call_id: string;
  operator_id: string;
  risk_level: string;
  details_enc?: Buffer;
  created_at: Date;
  cosigned_by: string | null;
  cosigned_at: Date | null;
}

/** Associated-data field names: each ciphertext is bound to its call and to its own row. */
export const noteField = (noteId: string) => `note:${noteId}`;
export const escalationField = (escalationId: string) => `escalation:${escalationId}`;

const unreadable = () =>
  counter('hotline_content_unavailable_total', 'Content that could not be decrypted (key destroyed, or ciphertext moved or tampered)', [
    'reason',
  ]);

/**
 * Rows to domain objects. This is the ONE place where ciphertext becomes plaintext (and where
 * plaintext becomes ciphertext): nothing else in the codebase calls ContentCipher.decrypt, so
 * a decrypted column cannot leak by accident through some other path.
 */
@Injectable()
export class CallMapper {
  private readonly logger = new Logger(CallMapper.name);

  constructor(private readonly cipher: ContentCipher) {}

  summary(r: CallRow): CallSummary {
    const startedAt = new Date(r.started_at);
    const answeredAt = r.answered_at ? new Date(r.answered_at) : null;
    const endedAt = r.ended_at ? new Date(r.ended_at) : null;
    const waitEnd = answeredAt ?? (r.status === 'abandoned' ? endedAt : null);
    return {
      callId: r.id,
      status: r.status as CallStatus,
      startedAt,
      answeredAt,
      endedAt,
      waitSeconds: waitEnd ? Math.max(0, Math.round((waitEnd.getTime() - startedAt.getTime()) / 1000)) : null,
      riskLevel: r.risk_level as RiskLevel,
      operatorId: r.operator_id,
      retentionPolicy: r.retention_policy as PolicyName,
      retentionDeadline: new Date(r.retention_deadline),
      recordingConsent: Boolean(Number(r.recording_consent)),
      wrapupCategory: r.wrapup_category,
    };
  }

  sealNote(callId: string, noteId: string, text: string): Promise<Buffer> {
    return this.cipher.encrypt(callId, noteField(noteId), text);
  }

  async note(r: NoteRow): Promise<CallNote> {
    const base = { id: r.id, authorId: r.author_id, amendsNoteId: r.amends_note_id, createdAt: new Date(r.created_at) };
    const text = await this.open(r.call_id, noteField(r.id), r.body_enc, 'note', r.id);
    return text === null ? { ...base, text: null, unavailable: true } : { ...base, text };
  }

  sealEscalation(callId: string, escalationId: string, details: EscalationDetails): Promise<Buffer> {
    return this.cipher.encrypt(callId, escalationField(escalationId), JSON.stringify(details));
  }

  escalationMeta(r: EscalationRow): EscalationMeta {
    return {
      id: r.id,
      operatorId: r.operator_id,
      riskLevel: r.risk_level as RiskLevel,
      createdAt: new Date(r.created_at),
      cosignedBy: r.cosigned_by,
      cosignedAt: r.cosigned_at ? new Date(r.cosigned_at) : null,
    };
  }

  async escalation(r: EscalationRow & { details_enc: Buffer }): Promise<CallEscalation> {
    const meta = this.escalationMeta(r);
    const json = await this.open(r.call_id, escalationField(r.id), r.details_enc, 'escalation', r.id);
    if (json === null)
      return {
        ...meta,
        disclosedTo: null,
        legalBasis: null,
        fieldsDisclosed: null,
        emergencyContactConfirmedAt: null,
        notes: null,
        unavailable: true,
      };
    const d = JSON.parse(json) as EscalationDetails;
    return {
      ...meta,
      disclosedTo: d.disclosedTo,
      legalBasis: d.legalBasis,
      fieldsDisclosed: d.fieldsDisclosed,
      emergencyContactConfirmedAt: d.emergencyContactConfirmedAt ?? null,
      notes: d.notes ?? null,
    };
  }

  certificate(r: any): DeletionCertificate {
    return {
      id: r.id,
      callId: r.call_id,
      reason: r.reason,
      retentionPolicy: r.retention_policy,
      retentionDeadline: new Date(r.retention_deadline),
      deletionRequestId: r.deletion_request_id ?? null,
      destroyedAt: new Date(r.destroyed_at),
      steps: typeof r.steps === 'string' ? JSON.parse(r.steps) : r.steps,
    };
  }

  /**
   * Plaintext, or null when the content is gone for good (key destroyed) or is not this row's
   * (ciphertext moved or tampered): shown as unavailable, never as ciphertext, never a crash.
   * Anything else (the keystore not answering) is thrown: no check, no content.
   */
  private async open(callId: string, field: string, sealed: Buffer, kind: string, id: string): Promise<string | null> {
    try {
      return await this.cipher.decrypt(callId, field, sealed);
    } catch (e) {
      if (e instanceof DataKeyDestroyedError) {
        unreadable().inc({ reason: 'key_destroyed' });
        return null;
      }
      if (e instanceof DecryptionError) {
        unreadable().inc({ reason: 'integrity' });
        this.logger.error(
          { callId, [`${kind}Id`]: id },
          `${kind} ciphertext failed authentication: moved, tampered or under the wrong key`,
        );
        return null;
      }
      throw e;
    }
  }
}
