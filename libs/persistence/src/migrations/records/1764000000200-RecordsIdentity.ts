import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which records database this is: an id made once, when the database is created. The keystore is
 * paired with it (keystore_identity), so the reconciler can tell its own records database from an
 * empty, restored-elsewhere or wrong one, and refuse to destroy keys against it.
 */
export class RecordsIdentity1764000000200 implements MigrationInterface {
  name = 'RecordsIdentity1764000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE records_identity (
      id TINYINT NOT NULL PRIMARY KEY,
      database_id CHAR(36) NOT NULL,
      created_at DATETIME(3) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query('INSERT INTO records_identity (id, database_id, created_at) VALUES (1, UUID(), NOW(3))');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS records_identity');
  }
}
