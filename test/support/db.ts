import { DataSource } from 'typeorm';
import { keystoreDataSourceOptions, recordsDataSourceOptions } from '@hotline/persistence';
import { TEST_DATABASE_URL, TEST_KEYSTORE_URL } from './test-config';

/** Direct connections to the test databases, for assertions that look under the API. */
export async function openTestDataSources(): Promise<{ db: DataSource; keys: DataSource; close(): Promise<void> }> {
  const db = await new DataSource(recordsDataSourceOptions(TEST_DATABASE_URL)).initialize();
  const keys = await new DataSource({
    ...keystoreDataSourceOptions(TEST_KEYSTORE_URL),
    name: 'keystore-test-' + Math.random(),
  } as any).initialize();
  return { db, keys, close: async () => void (await Promise.all([db.destroy(), keys.destroy()])) };
}

/** Every text-ish cell of every table of a database, for scans that must find no clear number or note. */
export async function dumpAllText(ds: DataSource): Promise<string> {
  const tables: { t: string }[] = await ds.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()');
  const parts: string[] = [];
  for (const { t } of tables) {
    const rows: Record<string, unknown>[] = await ds.query(`SELECT * FROM \`${t}\``);
    for (const r of rows)
      for (const v of Object.values(r))
        parts.push(Buffer.isBuffer(v) ? v.toString('latin1') : typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return parts.join('\n');
}
