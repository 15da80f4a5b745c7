import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Append-only, hash-chained. `hash = sha256(prevHash + canonical(entry))`. */
@Entity('audit_log')
export class AuditEntryEntity {
  @PrimaryColumn({ type: 'bigint' }) seq: number;
  @Column({ type: 'datetime', precision: 3 }) at: Date;
  @Column({ name: 'actor_id', type: 'varchar', length: 64, nullable: true }) actorId: string | null;
  @Column({ name: 'actor_role', type: 'varchar', length: 32, nullable: true }) actorRole: string | null;
  @Column({ type: 'varchar', length: 64 }) action: string;
  @Column({ name: 'target_type', type: 'varchar', length: 32, nullable: true }) targetType: string | null;
  @Column({ name: 'target_id', type: 'varchar', length: 64, nullable: true }) targetId: string | null;
  @Column({ type: 'char', length: 64, nullable: true }) pseudonym: string | null;
  @Column({ type: 'json', nullable: true }) detail: Record<string, unknown> | null;
  @Column({ name: 'prev_hash', type: 'char', length: 64 }) prevHash: string;
  @Column({ type: 'char', length: 64 }) hash: string;
}
