import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Every assessment is kept (history); the call carries the current level. */
@Entity('risk_assessments')
export class RiskAssessmentEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_id', type: 'char', length: 36 }) callId: string;
  @Column({ name: 'assessed_by', type: 'char', length: 36 }) assessedBy: string;
  @Column({ name: 'risk_level', type: 'varchar', length: 16 }) riskLevel: string;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
}
