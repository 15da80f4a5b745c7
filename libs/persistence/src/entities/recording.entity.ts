import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('recordings')
export class RecordingEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_id', type: 'char', length: 36 }) callId: string;
  @Column({ name: 'recording_sid', type: 'varchar', length: 64, unique: true }) recordingSid: string;
  @Column({ type: 'varchar', length: 16 }) status: string;
  @Column({ name: 'retention_deadline', type: 'datetime', precision: 3 }) retentionDeadline: Date;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
  /** Set once Twilio confirmed the recording gone (or it was already gone). */
  @Column({ name: 'deleted_at', type: 'datetime', precision: 3, nullable: true }) deletedAt: Date | null;
}
