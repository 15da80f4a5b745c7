import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Role } from '@hotline/contract';

@Entity('staff')
export class StaffEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ type: 'varchar', length: 64, unique: true }) username: string;
  @Column({ name: 'display_name', type: 'varchar', length: 128 }) displayName: string;
  @Column({ name: 'password_hash', type: 'varchar', length: 255 }) passwordHash: string;
  @Column({ type: 'varchar', length: 32 }) role: Role;
  @Column({ type: 'boolean', default: true }) active: boolean;
  @Column({ name: 'failed_logins', type: 'int', default: 0 }) failedLogins: number;
  @Column({ name: 'locked_until', type: 'datetime', precision: 3, nullable: true }) lockedUntil: Date | null;
  @Column({ name: 'must_change_password', type: 'boolean', default: false }) mustChangePassword: boolean;
  @Column({ name: 'totp_secret', type: 'varchar', length: 255, nullable: true }) totpSecret: string | null;
  @Column({ name: 'totp_last_step', type: 'bigint', nullable: true }) totpLastStep: string | null;
  @Column({ name: 'factor_enrolled_at', type: 'datetime', precision: 3, nullable: true }) factorEnrolledAt: Date | null;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
}
