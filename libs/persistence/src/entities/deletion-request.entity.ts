import { Column, Entity, PrimaryColumn } from 'typeorm';

export const DELETION_REQUEST_STATUSES = ['pending', 'in_progress', 'done', 'partly_held', 'cancelled', 'failed'] as const;
export type DeletionRequestStatus = (typeof DELETION_REQUEST_STATUSES)[number];

@Entity('deletion_requests')
export class DeletionRequestEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  /** NULL once the request is carried out: the row then holds nothing that links it to a number. */
  @Column({ name: 'caller_pseudonym', type: 'char', length: 64, nullable: true }) callerPseudonym: string | null;
  @Column({ name: 'requested_at', type: 'datetime', precision: 3 }) requestedAt: Date;
  @Column({ name: 'verified_by', type: 'varchar', length: 32 }) verifiedBy: string;
  @Column({ type: 'varchar', length: 16 }) status: DeletionRequestStatus;
  @Column({ name: 'execute_after', type: 'datetime', precision: 3 }) executeAfter: Date;
  @Column({ name: 'calls_total', type: 'int', default: 0 }) callsTotal: number;
  @Column({ name: 'calls_held', type: 'int', default: 0 }) callsHeld: number;
  @Column({ name: 'calls_deleted', type: 'int', default: 0 }) callsDeleted: number;
  @Column({ name: 'completed_at', type: 'datetime', precision: 3, nullable: true }) completedAt: Date | null;
  @Column({ name: 'cancelled_at', type: 'datetime', precision: 3, nullable: true }) cancelledAt: Date | null;
  /** Number for the closing SMS, sealed to a one-time contact key; cleared once the SMS is sent. */
  @Column({ name: 'contact_enc', type: 'varbinary', length: 512, nullable: true }) contactEnc: Buffer | null;
  /** The one-time contact key (keystore `contact_keys`) of `contact_enc`; cleared once the key is destroyed. */
  @Column({ name: 'contact_key_id', type: 'char', length: 36, nullable: true }) contactKeyId: string | null;
  /** The privacy-line calls that asked (CallSids, space-separated), deleted at Twilio when the request is carried out. */
  @Column({ name: 'call_sids', type: 'varchar', length: 1024, nullable: true }) callSids: string | null;
}
