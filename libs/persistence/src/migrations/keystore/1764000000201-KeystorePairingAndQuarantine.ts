import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The keystore knows the records database it belongs to (set once, by `npm run migrate` or the
 * first reconciliation), and a key whose call row is missing is quarantined (`quarantined_at`)
 * for a while before the reconciler may destroy it.
 */
export class KeystorePairingAndQuarantine1764000000201 implements MigrationInterface {
  name = 'KeystorePairingAndQuarantine1764000000201';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE keystore_identity (
      id TINYINT NOT NULL PRIMARY KEY,
      records_database_id CHAR(36) NULL,
      paired_at DATETIME(3) NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query('INSERT INTO keystore_identity (id, records_database_id, paired_at) VALUES (1, NULL, NULL)');
    await q.query('ALTER TABLE data_keys ADD COLUMN quarantined_at DATETIME(3) NULL, ADD KEY ix_data_keys_quarantined (quarantined_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE data_keys DROP KEY ix_data_keys_quarantined, DROP COLUMN quarantined_at');
    await q.query('DROP TABLE IF EXISTS keystore_identity');
  }
}
