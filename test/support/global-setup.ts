import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { runMigrations } from '../../libs/persistence/src/data-source';
import { applyDbAccounts } from '../../scripts/db-accounts';
import { rmSync } from 'fs';
import { TEST_AUDIT_CHECKPOINT_DIR, TEST_DATABASE_URL, TEST_KEYSTORE_URL, TEST_REDIS_URL } from './test-config';
import { resetLogCapture } from './log-capture';

/** Fresh test databases with real migrations and each app's grants, and an empty Redis database, once per run. */
export default async function globalSetup(): Promise<void> {
  if ((globalThis as any).__hotlineSetupDone) return;
  (globalThis as any).__hotlineSetupDone = true;
  resetLogCapture();
  for (const url of [TEST_DATABASE_URL, TEST_KEYSTORE_URL]) {
    const u = new URL(url);
    const name = u.pathname.slice(1);
    u.pathname = '/';
    const c = await createConnection({ uri: u.toString() });
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await c.end();
  }
  await runMigrations(TEST_DATABASE_URL, TEST_KEYSTORE_URL);
  // Each app's own account, with only its grants on this run's databases (the apps under test use them).
  await applyDbAccounts(TEST_DATABASE_URL, TEST_KEYSTORE_URL);
  // A fresh chain: the last run's signed checkpoints describe a chain that no longer exists.
  rmSync(TEST_AUDIT_CHECKPOINT_DIR, { recursive: true, force: true });
  const redis = new Redis(TEST_REDIS_URL);
  await redis.flushdb();
  await redis.quit();
}
