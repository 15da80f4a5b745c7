import { Column, Entity, PrimaryColumn } from 'typeorm';

export type ConsentKind = 'recording' | 'followup';

@Entity('consents')
export class ConsentEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_id', type: 'char', length: 36 }) callId: string;
  @Column({ name: 'caller_pseudonym', type: 'char', length: 64, nullable: true }) callerPseudonym: string | null;
  @Column({ type: 'varchar', length: 16 }) kind: ConsentKind;
  @Column({ type: 'boolean' }) granted: boolean;
  @Column({ name: 'wording_version', type: 'varchar', length: 32 }) wordingVersion: string;
  @Column({ name: 'decided_at', type: 'datetime', precision: 3 }) decidedAt: Date;
  @Column({ name: 'withdrawn_at', type: 'datetime', precision: 3, nullable: true }) withdrawnAt: Date | null;
}
