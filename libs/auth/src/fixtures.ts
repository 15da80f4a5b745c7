/**
 * Fixtures of the staff tables for the tests (`@hotline/auth/fixtures`): states that no API reaches
 * (no staff account at all, for the first start's BOOTSTRAP_ADMIN). Production code never imports
 * this file; only libs/auth names its tables in SQL (scripts/table-owners.js).
 */

/** A DataSource, an EntityManager or a QueryRunner of the records database. */
export interface Queries {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/** Every staff row, as stored, then none: `restoreStaff` puts them back. */
export async function removeAllStaff(db: Queries): Promise<Record<string, unknown>[]> {
  const saved: Record<string, unknown>[] = await db.query('SELECT * FROM staff');
  await db.query('DELETE FROM staff');
  return saved;
}

/** Puts back staff rows taken by `removeAllStaff` (a row whose id or username exists again is skipped). */
export async function restoreStaff(db: Queries, rows: Record<string, unknown>[]): Promise<void> {
  for (const row of rows) {
    const cols = Object.keys(row);
    await db.query(
      `INSERT IGNORE INTO staff (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => row[c]),
    );
  }
}
