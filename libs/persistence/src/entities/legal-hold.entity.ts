import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A hold is in force while `liftedAt` is null; holds are never deleted while their call exists. */
@Entity('legal_holds')
export class LegalHoldEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_id', type: 'char', length: 36 }) callId: string;
  @Column({ type: 'varchar', length: 500 }) reason: string;
  @Column({ name: 'placed_by', type: 'char', length: 36 }) placedBy: string;
  @Column({ name: 'placed_at', type: 'datetime', precision: 3 }) placedAt: Date;
  @Column({ name: 'lifted_by', type: 'char', length: 36, nullable: true }) liftedBy: string | null;
  @Column({ name: 'lifted_at', type: 'datetime', precision: 3, nullable: true }) liftedAt: Date | null;
}
