import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16, staff accounts that come and go:
 *  - `must_change_password`: set by an admin's password reset (a one-time password), cleared when
 *    the member chooses their own;
 *  - `totp_secret`, `totp_last_step`, `factor_enrolled_at`: the second factor (RFC 6238), the secret
 *    sealed under a key derived from MASTER_KEY (StaffSecretSeal); the last accepted time step refuses
 *    a code seen once already (replay);
 *  - `staff_recovery_codes`: SHA-256 of each recovery code, usable once (`used_at`);
 *  - `staff_passkeys`: WebAuthn credentials (public keys only), an alternative second factor;
 *  - `agreement_acceptances`: who accepted which version of the confidentiality agreement, when;
 *  - `handovers`: a supervisor moved a leaving operator's calls to another (the reason is kept here,
 *    not in the audit trail, which names ids only).
 * The gateway's grant on `staff` names columns (id, display_name), so none of these reach it.
 */
export class StaffAccounts1764000001600 implements MigrationInterface {
  name = 'StaffAccounts1764000001600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE staff ADD COLUMN must_change_password TINYINT(1) NOT NULL DEFAULT 0, ADD COLUMN totp_secret VARCHAR(255) NULL, ADD COLUMN totp_last_step BIGINT NULL, ADD COLUMN factor_enrolled_at DATETIME(3) NULL',
    );
    await q.query(`CREATE TABLE staff_recovery_codes (
      staff_id CHAR(36) NOT NULL,
      code_hash CHAR(64) NOT NULL,
      used_at DATETIME(3) NULL,
      PRIMARY KEY (staff_id, code_hash)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE staff_passkeys (
      credential_id VARCHAR(255) NOT NULL PRIMARY KEY,
      staff_id CHAR(36) NOT NULL,
      public_key TEXT NOT NULL,
      counter BIGINT NOT NULL DEFAULT 0,
      transports VARCHAR(255) NULL,
      created_at DATETIME(3) NOT NULL,
      last_used_at DATETIME(3) NULL,
      KEY staff_passkeys_staff (staff_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE agreement_acceptances (
      staff_id CHAR(36) NOT NULL,
      version VARCHAR(32) NOT NULL,
      accepted_at DATETIME(3) NOT NULL,
      PRIMARY KEY (staff_id, version),
      KEY agreement_acceptances_version (version, accepted_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE handovers (
      id CHAR(36) NOT NULL PRIMARY KEY,
      from_operator_id CHAR(36) NOT NULL,
      to_operator_id CHAR(36) NOT NULL,
      by_staff_id CHAR(36) NOT NULL,
      reason VARCHAR(500) NOT NULL,
      calls_moved INT NOT NULL,
      created_at DATETIME(3) NOT NULL,
      KEY handovers_from (from_operator_id, created_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE handovers');
    await q.query('DROP TABLE agreement_acceptances');
    await q.query('DROP TABLE staff_passkeys');
    await q.query('DROP TABLE staff_recovery_codes');
    await q.query(
      'ALTER TABLE staff DROP COLUMN factor_enrolled_at, DROP COLUMN totp_last_step, DROP COLUMN totp_secret, DROP COLUMN must_change_password',
    );
  }
}
