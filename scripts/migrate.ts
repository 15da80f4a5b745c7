/**
 * `npm run migrate`: applies TypeORM migrations to DATABASE_URL and KEYSTORE_URL (the migrator's
 * account), creating the two databases first when the account may; then gives each app's own
 * account exactly its grants on them (scripts/db-accounts.sql).
 */
import { loadEnv } from '@hotline/config';
import { runMigrations } from '@hotline/persistence';
import { createConnection } from 'mysql2/promise';
import { applyDbAccounts } from './db-accounts';

export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits and _`);
  u.pathname = '/';
  const conn = await createConnection({ uri: u.toString() });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } catch (e) {
    // Without CREATE rights the database must already exist; the migration itself will say so if not.
  } finally {
    await conn.end();
  }
}

export async function migrate(databaseUrl: string, keystoreUrl: string): Promise<string[]> {
  if (databaseUrl === keystoreUrl) throw new Error('KEYSTORE_URL must name a different database from DATABASE_URL');
  await ensureDatabase(databaseUrl);
  await ensureDatabase(keystoreUrl);
  const applied = await runMigrations(databaseUrl, keystoreUrl);
  await applyDbAccounts(databaseUrl, keystoreUrl);
  return applied;
}

if (require.main === module) {
  const env = loadEnv([]);
  migrate(env.DATABASE_URL, env.KEYSTORE_URL)
    .then((applied) => {
      process.stdout.write(applied.length ? `migrations applied: ${applied.join(', ')}\n` : 'migrations: already up to date\n');
    })
    .catch((e) => {
      process.stderr.write(`migrate failed: ${e.message}\n`);
      process.exit(1);
    });
}
