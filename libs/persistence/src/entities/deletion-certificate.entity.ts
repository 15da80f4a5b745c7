import { Column, Entity, PrimaryColumn } from 'typeorm';

export interface DeletionStep {
  step: string;
  outcome: 'done' | 'already_done' | 'skipped' | 'failed' | 'queued';
  at: string;
  detail?: string;
}

/** What remains of a destroyed call: no content, no pseudonym. */
@Entity('deletion_certificates')
export class DeletionCertificateEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_id', type: 'char', length: 36, unique: true }) callId: string;
  @Column({ type: 'varchar', length: 32 }) reason: string;
  @Column({ name: 'retention_policy', type: 'varchar', length: 16 }) retentionPolicy: string;
  @Column({ name: 'retention_deadline', type: 'datetime', precision: 3 }) retentionDeadline: Date;
  @Column({ name: 'deletion_request_id', type: 'char', length: 36, nullable: true }) deletionRequestId: string | null;
  @Column({ type: 'json' }) steps: DeletionStep[];
  @Column({ name: 'destroyed_at', type: 'datetime', precision: 3 }) destroyedAt: Date;
}
