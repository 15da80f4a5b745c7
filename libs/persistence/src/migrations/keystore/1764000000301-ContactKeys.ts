import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One-time contact keys: X25519 private keys, wrapped by the master key, whose public halves the
 * worker publishes for the gateway to seal a caller's number to (the closing SMS of a deletion
 * request). Each is used for one request and destroyed once its SMS is sent (or given up).
 */
export class ContactKeys1764000000301 implements MigrationInterface {
  name = 'ContactKeys1764000000301';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE contact_keys (
      id CHAR(36) NOT NULL PRIMARY KEY,
      wrapped_key VARBINARY(128) NOT NULL,
      master_key_id CHAR(16) NOT NULL,
      created_at DATETIME(3) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS contact_keys');
  }
}
