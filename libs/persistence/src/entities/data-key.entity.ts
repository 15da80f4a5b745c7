import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Keystore database only. One data key per call, wrapped (AES-256-GCM) by the master key whose
 * fingerprint is `masterKeyId`. Deleting this row is what makes every copy of the call unreadable.
 */
@Entity('data_keys')
export class DataKeyEntity {
  @PrimaryColumn({ name: 'call_id', type: 'char', length: 36 }) callId: string;
  @Column({ name: 'wrapped_key', type: 'varbinary', length: 128 }) wrappedKey: Buffer;
  @Column({ name: 'master_key_id', type: 'char', length: 16 }) masterKeyId: string;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
  /** Set while the key's call row is missing (the reconciler's quarantine); cleared if the row comes back. */
  @Column({ name: 'quarantined_at', type: 'datetime', precision: 3, nullable: true }) quarantinedAt: Date | null;
}
