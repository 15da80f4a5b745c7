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
  require('./twilio-contract').resetTwilioContractRun(); // the run's Twilio contract checks (test/security/twilio-contract-last)
  require('../security/support/attack-ledger').resetAttackLedger(); // the run's attacks (test/security/attacks-last)
  for (const url of [TEST_DATABASE_URL, TEST_KEYSTORE_URL]) {
    const u = new URL(url);
    const name = u.pathname.slice(1);
    u.pathname = '/';
    const c = await createConnection({ uri: u.toString() });
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    // With the server's defaults, as an operator's own CREATE DATABASE or a managed database would be
    // (MariaDB 10.11: utf8mb4_general_ci; MySQL 8: utf8mb4_0900_ai_ci), not the schema's own
    // utf8mb4_unicode_ci: every table must state its collation, and the whole suite runs on such a
    // database (test/e2e/database-collation.e2e-spec.ts checks it). On a server whose default happens
    // to be utf8mb4_unicode_ci, another collation is named so that the point is still tested.
    const [[server]] = await c.query<any[]>('SELECT @@collation_server AS collation');
    const other = server.collation === 'utf8mb4_unicode_ci' ? ' CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci' : '';
    await c.query(`CREATE DATABASE \`${name}\`${other}`);
    await c.end();
  }
  await runMigrations(TEST_DATABASE_URL, TEST_KEYSTORE_URL);
  // Each app's own account, with only its grants on this run's databases (the apps under test use them).
  await applyDbAccounts(TEST_DATABASE_URL, TEST_KEYSTORE_URL);
  // A fresh chain: the last run's signed checkpoints describe a chain that no longer exists.
  rmSync(TEST_AUDIT_CHECKPOINT_DIR, { recursive: true, force: true });
  const redis = new Redis(TEST_REDIS_URL);
  await redis.flushdb();
  // Each app's own Redis user (libs/config/src/redis-acl.ts; server-wide, as the same in every run), before any app connects.
  const acl = require('../../libs/config/src/redis-acl') as typeof import('../../libs/config/src/redis-acl');
  for (const args of acl.redisAclSetUserArgs(acl.localRedisPasswords())) await redis.call('ACL', ...args);
  await redis.quit();
}
