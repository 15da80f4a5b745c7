import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `twilio_cleanup`: what secure deletion leaves for Twilio, one row per destroyed batch. The call
 * rows (and with them the plain CallSids) are deleted in the transaction that destroys the calls'
 * keys; the Twilio resources that carry the caller's number (the call, the legs it opened, its
 * recordings) are deleted afterwards, from here:
 *  - `sealed`: the batch's CallSids and RecordingSids, sealed to a one-time key of the keystore's
 *    `contact_keys` (`contact_key_id`); the key is destroyed once Twilio has deleted them all, and
 *    the row goes with it, so no copy (binlogs, backups) can be opened after that;
 *  - `done_call_ids`: the calls of the batch already cleaned up at Twilio (ids only), so a retry
 *    does not repeat them or their certificate steps.
 */
export class TwilioCleanup1764000000350 implements MigrationInterface {
  name = 'TwilioCleanup1764000000350';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE twilio_cleanup (
      id CHAR(36) NOT NULL PRIMARY KEY,
      contact_key_id CHAR(36) NOT NULL,
      sealed MEDIUMBLOB NOT NULL,
      calls INT NOT NULL,
      done_call_ids LONGTEXT NULL,
      attempts INT NOT NULL DEFAULT 0,
      created_at DATETIME(3) NOT NULL,
      KEY ix_twilio_cleanup_created (created_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE twilio_cleanup');
  }
}
