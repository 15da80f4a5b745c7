import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { CallStatus, RiskLevel } from '@hotline/contract';

/**
 * A call's metadata. It holds no content in clear: the caller is a keyed pseudonym,
 * and content lives in notes/escalations encrypted under the call's own data key.
 */
@Entity('calls')
export class CallEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_sid', type: 'varchar', length: 64, nullable: true, unique: true }) callSid: string | null;
  @Column({ name: 'caller_pseudonym', type: 'char', length: 64, nullable: true }) callerPseudonym: string | null;
  @Column({ name: 'operator_id', type: 'char', length: 36, nullable: true }) operatorId: string | null;
  @Column({ type: 'varchar', length: 16 }) status: CallStatus;
  @Column({ name: 'started_at', type: 'datetime', precision: 3 }) startedAt: Date;
  @Column({ name: 'answered_at', type: 'datetime', precision: 3, nullable: true }) answeredAt: Date | null;
  @Column({ name: 'ended_at', type: 'datetime', precision: 3, nullable: true }) endedAt: Date | null;
  @Column({ name: 'risk_level', type: 'varchar', length: 16, default: 'none' }) riskLevel: RiskLevel;
  @Column({ name: 'retention_policy', type: 'varchar', length: 16, default: 'default' }) retentionPolicy: string;
  @Column({ name: 'retention_deadline', type: 'datetime', precision: 3 }) retentionDeadline: Date;
  @Column({ name: 'recording_consent', type: 'boolean', default: false }) recordingConsent: boolean;
  @Column({ name: 'wrapup_category', type: 'varchar', length: 64, nullable: true }) wrapupCategory: string | null;
  /** Highest Twilio SequenceNumber applied, so status callbacks are idempotent and order-tolerant. */
  @Column({ name: 'last_sequence', type: 'int', default: -1 }) lastSequence: number;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
}
