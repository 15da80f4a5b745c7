import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every table of the records database in utf8mb4 / utf8mb4_unicode_ci, whatever the database was
 * created with (issue 23).
 *
 * The three tables of CallsAsConferences (call_transfers, call_access, call_supervisions) stated no
 * character set or collation, and so took the database's default; so did TypeORM's own `migrations`
 * table. On a database created with the server's defaults (MariaDB: utf8mb4_general_ci; MySQL 8:
 * utf8mb4_0900_ai_ci) their ids then compare with the other tables' utf8mb4_unicode_ci ids only by
 * failing ("Illegal mix of collations", ER_CANT_AGGREGATE_2COLLATIONS): `GET /calls` answered 500 and
 * every secure-deletion batch failed. This converts each table that is not wholly utf8mb4_unicode_ci
 * (its default, or any text column); on a database that was right already it changes nothing, so it
 * costs one look at information_schema. A converted table is rebuilt (a copy, writes wait): the
 * tables concerned are small. Columns collated utf8mb4_bin are left alone: that is MariaDB's JSON
 * (LONGTEXT with a json_valid check), whose binary collation compares with any utf8mb4 one.
 *
 * The old migrations are left as they were: editing one changes no deployed database, and this one
 * repairs fresh and deployed databases alike (it runs after them). From here on every CREATE TABLE
 * of a migration states `COLLATE=utf8mb4_unicode_ci` (scripts/check-rules.js, `npm run deps`), so no
 * table depends on the database's default, which is left as the operator made it (the tests keep the
 * server's: test/support/global-setup.ts, test/e2e/database-collation.e2e-spec.ts).
 */
export class RecordsCollationRepair1764000001800 implements MigrationInterface {
  name = 'RecordsCollationRepair1764000001800';

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
    // Nothing: the collations the tables had are not known here, and going back to them would bring
    // the failures back.
  }
}
