import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A deletion request leaves nothing that links it to a number once it is done:
 *  - `caller_pseudonym` may be NULL (it is cleared when the request is done or cancelled);
 *  - `call_sids`: the privacy-line calls that asked for it (plain CallSids, space-separated), kept
 *    until the request is carried out, then deleted at Twilio (their record holds the number);
 *  - `contact_key_id`: the one-time contact key (keystore `contact_keys`) the closing SMS's number
 *    is sealed to; the key is destroyed when the SMS is sent, which makes every copy of
 *    `contact_enc` (binlogs, backups) unreadable.
 */
export class DeletionRequestTraces1764000000300 implements MigrationInterface {
  name = 'DeletionRequestTraces1764000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE deletion_requests MODIFY caller_pseudonym CHAR(64) NULL, ADD COLUMN call_sids VARCHAR(1024) NULL, ADD COLUMN contact_key_id CHAR(36) NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE deletion_requests DROP COLUMN contact_key_id, DROP COLUMN call_sids');
  }
}
