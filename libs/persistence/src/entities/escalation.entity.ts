import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Duty-to-warn record. What was disclosed, to whom and why is content: encrypted under the call's key. */
@Entity('escalations')
export class EscalationEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_id', type: 'char', length: 36 }) callId: string;
  @Column({ name: 'operator_id', type: 'char', length: 36 }) operatorId: string;
  @Column({ name: 'risk_level', type: 'varchar', length: 16 }) riskLevel: string;
  @Column({ name: 'details_enc', type: 'blob' }) detailsEnc: Buffer;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
  @Column({ name: 'cosigned_by', type: 'char', length: 36, nullable: true }) cosignedBy: string | null;
  @Column({ name: 'cosigned_at', type: 'datetime', precision: 3, nullable: true }) cosignedAt: Date | null;
}
