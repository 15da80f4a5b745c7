import { MigrationInterface, QueryRunner } from 'typeorm';

/** The keystore: its own database, holding only wrapped data keys. */
export class CreateKeystore1764000000001 implements MigrationInterface {
  name = 'CreateKeystore1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE data_keys (
      call_id CHAR(36) NOT NULL PRIMARY KEY,
      wrapped_key VARBINARY(128) NOT NULL,
      master_key_id CHAR(16) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      KEY ix_data_keys_master (master_key_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS data_keys');
  }
}
