import { DataSource, DataSourceOptions } from 'typeorm';
import { join } from 'path';
import { pairKeystore, recordsDatabaseId } from './database-identity';
import { readdirSync } from 'fs';

export const KEYSTORE = 'keystore';

/** Migration classes found in a folder (works from sources via scripts/register.js and from a build). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for migration classes
function migrationsIn(folder: string): Function[] {
  const dir = join(__dirname, 'migrations', folder);
  return readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.map'))
    .sort()
    .flatMap((f) => Object.values(require(join(dir, f))) as (new () => unknown)[]);
}

const common = {
  type: 'mysql' as const,
  // synchronize would silently drop columns and their data (typeorm #2344): schema changes are migrations only.
  synchronize: false,
  migrationsRun: false,
  timezone: 'Z',
  charset: 'utf8mb4_unicode_ci',
  supportBigNumbers: true,
  bigNumberStrings: false,
  logging: false as const,
};

export function recordsDataSourceOptions(url: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    ...common,
    url,
    // No entities: every table is read and written in SQL by the lib that owns it (scripts/table-owners.js).
    entities: [],
    migrations: migrationsIn('records'),
    migrationsTableName: 'migrations',
    extra: { connectionLimit: 20 },
    ...extra,
  } as DataSourceOptions;
}

export function keystoreDataSourceOptions(url: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    ...common,
    name: KEYSTORE,
    url,
    entities: [],
    migrations: migrationsIn('keystore'),
    migrationsTableName: 'migrations',
    extra: { connectionLimit: 10 },
    ...extra,
  } as DataSourceOptions;
}

/** Applies pending migrations to both databases; returns the names applied. */
export async function runMigrations(databaseUrl: string, keystoreUrl: string): Promise<string[]> {
  const applied: string[] = [];
  const [records, keystore] = [
    new DataSource(recordsDataSourceOptions(databaseUrl)),
    new DataSource(keystoreDataSourceOptions(keystoreUrl)),
  ];
  try {
    for (const ds of [records, keystore]) {
      await ds.initialize();
      const ran = await ds.runMigrations({ transaction: 'each' });
      applied.push(...ran.map((m) => m.name));
    }
    // An unpaired keystore is paired with the records database it was migrated beside (a paired one
    // keeps its pairing: migrating it beside another records database changes nothing).
    await pairKeystore(keystore, (await recordsDatabaseId(records))!);
  } finally {
    for (const ds of [records, keystore]) if (ds.isInitialized) await ds.destroy();
  }
  return applied;
}
