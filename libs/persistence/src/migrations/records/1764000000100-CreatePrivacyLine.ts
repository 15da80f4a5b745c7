import { MigrationInterface, QueryRunner } from 'typeorm';

/** The privacy line: verification codes (hashes only), lockouts, caller preferences, SMS sent. */
export class CreatePrivacyLine1764000000100 implements MigrationInterface {
  name = 'CreatePrivacyLine1764000000100';

  async up(q: QueryRunner): Promise<void> {
    const opts = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
    await q.query(`CREATE TABLE privacy_codes (
      id CHAR(36) NOT NULL PRIMARY KEY,
      caller_pseudonym CHAR(64) NOT NULL,
      code_hash CHAR(64) NOT NULL,
      expires_at DATETIME(3) NOT NULL,
      attempts INT NOT NULL DEFAULT 0,
      used_at DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL,
      KEY ix_privacy_codes_pseudonym (caller_pseudonym, created_at)
    ) ${opts}`);
    await q.query(`CREATE TABLE privacy_blocks (
      caller_pseudonym CHAR(64) NOT NULL PRIMARY KEY,
      blocked_until DATETIME(3) NOT NULL
    ) ${opts}`);
    await q.query(`CREATE TABLE caller_preferences (
      caller_pseudonym CHAR(64) NOT NULL PRIMARY KEY,
      recording_opt_out_at DATETIME(3) NULL,
      updated_at DATETIME(3) NOT NULL
    ) ${opts}`);
    await q.query(`CREATE TABLE sms_messages (
      message_sid VARCHAR(64) NOT NULL PRIMARY KEY,
      purpose VARCHAR(32) NOT NULL,
      caller_pseudonym CHAR(64) NULL,
      sent_at DATETIME(3) NOT NULL,
      deleted_at DATETIME(3) NULL,
      KEY ix_sms_pseudonym (caller_pseudonym)
    ) ${opts}`);
    // The number to send the closing SMS to, encrypted under a data key of the request's own
    // (keystore, keyed by the request id) and destroyed once the SMS is sent.
    await q.query(`ALTER TABLE deletion_requests ADD COLUMN contact_enc VARBINARY(512) NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE deletion_requests DROP COLUMN contact_enc');
    for (const t of ['sms_messages', 'caller_preferences', 'privacy_blocks', 'privacy_codes']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
