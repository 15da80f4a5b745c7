import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every table of the keystore in utf8mb4 / utf8mb4_unicode_ci, whatever the database was created
 * with (issue 23; the records database's twin is records/1764000001800-CollationRepair.ts, which
 * says why). The keystore's own tables stated theirs from the start; TypeORM's `migrations` table
 * did not, and took the database's default. Only a table not wholly utf8mb4_unicode_ci is converted,
 * so on a keystore that was right already this changes nothing. The old migrations are left as they
 * were; every later CREATE TABLE states its collation (scripts/check-rules.js).
 */
export class KeystoreCollationRepair1764000001801 implements MigrationInterface {
  name = 'KeystoreCollationRepair1764000001801';

  async up(q: QueryRunner): Promise<void> {
    const tables: { name: string }[] = await q.query(
      `SELECT t.TABLE_NAME AS name FROM information_schema.TABLES t
        WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
          AND (t.TABLE_COLLATION <> 'utf8mb4_unicode_ci' OR EXISTS (
            SELECT 1 FROM information_schema.COLUMNS c
             WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.COLLATION_NAME IS NOT NULL
               AND c.COLLATION_NAME NOT IN ('utf8mb4_unicode_ci', 'utf8mb4_bin')))
        ORDER BY t.TABLE_NAME`,
    );
    for (const { name } of tables) {
      await q.query(`ALTER TABLE \`${name.replace(/`/g, '``')}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    }
  }

  async down(): Promise<void> {
    // Nothing: the collations the tables had are not known here, and going back to them is no repair.
  }
}
