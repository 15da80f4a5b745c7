/**
 * Where a test run keeps its data. Each run gets its own databases (`hotline_<id>`,
 * `hotline_keys_<id>`) and Redis database, so that two runs on one machine cannot meet:
 * set HOTLINE_TEST_ID (letters, digits, _) and HOTLINE_TEST_REDIS_DB (1-15) to separate them.
 * Relative imports only: globalSetup runs outside jest's module mapping.
 */
import { DbApp, asDbAccount } from '../../scripts/db-accounts';
import { asRedisUser, isDefaultRedisUser } from '../../libs/config/src/redis-acl';

export const TEST_ID = (process.env.HOTLINE_TEST_ID ?? 'test').replace(/[^A-Za-z0-9_]/g, '_');
export const TEST_REDIS_DB = Number(process.env.HOTLINE_TEST_REDIS_DB ?? 1);
/** The migrator's server URL (no database): it creates the test databases and each app's grants on them. */
const MYSQL = process.env.HOTLINE_TEST_MYSQL ?? 'mysql://hotline:hotline@127.0.0.1:3306';
const REDIS = process.env.HOTLINE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export const TEST_DATABASE_URL = `${MYSQL}/hotline_${TEST_ID}`;
export const TEST_KEYSTORE_URL = `${MYSQL}/hotline_keys_${TEST_ID}`;
export const TEST_REDIS_URL = `${REDIS}/${TEST_REDIS_DB}`;

/**
 * An app's own database URLs on this run's databases (scripts/db-accounts.sql): what the app under test
 * connects with. The gateway's KEYSTORE_URL names its own account too, which has no right there.
 */
export function testDatabaseUrls(app: DbApp): { DATABASE_URL: string; KEYSTORE_URL: string } {
  return { DATABASE_URL: asDbAccount(TEST_DATABASE_URL, app), KEYSTORE_URL: asDbAccount(TEST_KEYSTORE_URL, app) };
}

/**
 * An app's own Redis URL on this run's database: the app's ACL user (libs/config/src/redis-acl.ts),
 * which the tests' globalSetup creates before any app connects.
 */
export function testRedisUrl(app: DbApp): string {
  return asRedisUser(TEST_REDIS_URL, app);
}

/**
 * `env`'s database URLs as `app`'s own account, where they are the migrator's, and its REDIS_URL as the
 * app's own Redis user, where it is the harness's `default` user (a test may point an app at a proxy in
 * front of the test server: the same account and user then, through the proxy).
 */
export function withAppAccount<E extends object>(env: E, app: DbApp): E {
  const migrator = new URL(TEST_DATABASE_URL).username;
  const swap = (url: string | undefined) => (url && new URL(url).username === migrator ? asDbAccount(url, app) : url);
  const { DATABASE_URL, KEYSTORE_URL } = env as { DATABASE_URL?: string; KEYSTORE_URL?: string };
  return { ...withAppRedisUser(env, app), DATABASE_URL: swap(DATABASE_URL), KEYSTORE_URL: swap(KEYSTORE_URL) };
}

/** `env`'s REDIS_URL as `app`'s own Redis user, where it is the harness's `default` user (its database URLs unchanged). */
export function withAppRedisUser<E extends object>(env: E, app: DbApp): E {
  const { REDIS_URL } = env as { REDIS_URL?: string };
  return REDIS_URL && isDefaultRedisUser(REDIS_URL) ? { ...env, REDIS_URL: asRedisUser(REDIS_URL, app) } : { ...env };
}

/** Fixed test secrets: random-looking, never used outside tests. */
export const TEST_SECRETS = {
  /** Staff tokens: records signs with the private key, every app verifies with the public one (ES256). */
  TOKEN_PRIVATE_KEY:
    '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTVPr8cgYQTrwAM9d\nBlsk5yDAvej6rYt1AoYFIVOyxm+hRANCAASaBU/zFg46crg8at8gdhBW/sfmGXCX\nbsTxMN19F+4H9c+37q4u/iHEHqBvuRsPRQ49DTF7zSqBZf//kVPa4ACq\n-----END PRIVATE KEY-----\n',
  TOKEN_PUBLIC_KEY:
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmgVP8xYOOnK4PGrfIHYQVv7H5hlw\nl27E8TDdfRfuB/XPt+6uLv4hxB6gb7kbD0UOPQ0xe80qgWX//5FT2uAAqg==\n-----END PUBLIC KEY-----\n',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  PSEUDONYM_KEY: Buffer.alloc(32, 9).toString('base64'),
  TWILIO_ACCOUNT_SID: 'AC' + '0123456789abcdef'.repeat(2),
  TWILIO_AUTH_TOKEN: 'test-auth-token-0123456789abcdef',
  TWILIO_SMS_FROM: '+15550001111',
};

/** Signs and verifies this run's audit checkpoints (Ed25519; a fixed test key, used nowhere else). */
export const TEST_AUDIT_CHECKPOINT_KEY =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIMhhEbD9Pi6QSFSsbF6h3R0Pokmc2ED30y0pEiCqeDpM\n-----END PRIVATE KEY-----\n';
export const TEST_AUDIT_CHECKPOINT_PUBLIC_KEY =
  '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA+T8gdFlcfIuLFmQj/Xz6jEG25klMNz+OBmYkQ66MqmQ=\n-----END PUBLIC KEY-----\n';
/** This run's checkpoint directory (emptied by globalSetup with the databases). */
export const TEST_AUDIT_CHECKPOINT_DIR = `${require('os').tmpdir()}/hotline-audit-checkpoints-${TEST_ID}`;

/**
 * The variables of an app under test. With `app`, the databases are reached as that app's own account
 * and Redis as its own user; without, as the migrator and Redis's `default` user (for tests that set up
 * or inspect data directly).
 */
export function testEnvVars(app?: DbApp): Record<string, string> {
  return {
    AUDIT_CHECKPOINT_DIR: TEST_AUDIT_CHECKPOINT_DIR,
    AUDIT_CHECKPOINT_KEY: TEST_AUDIT_CHECKPOINT_KEY,
    AUDIT_CHECKPOINT_PUBLIC_KEY: TEST_AUDIT_CHECKPOINT_PUBLIC_KEY,
    DATABASE_URL: TEST_DATABASE_URL,
    KEYSTORE_URL: TEST_KEYSTORE_URL,
    REDIS_URL: app ? testRedisUrl(app) : TEST_REDIS_URL,
    ...(app ? testDatabaseUrls(app) : {}),
    ...TEST_SECRETS,
    // Existing suites sign staff in with a password alone and mint tokens for staff who accepted no
    // agreement; the staff suites (test/e2e/staff-*.e2e-spec.ts) turn both on, as shipped.
    SECOND_FACTOR_ROLES: '',
    AGREEMENTS_DIR: `${require('os').tmpdir()}/hotline-no-agreements-${TEST_ID}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // Production's bridge: every call in a conference. The direct <Dial> bridge keeps a suite of its own
    // (test/e2e/direct-bridge.e2e-spec.ts); HOTLINE_TEST_CALL_BRIDGE=direct runs everything through it.
    CALL_BRIDGE: process.env.HOTLINE_TEST_CALL_BRIDGE ?? 'conference',
    // The peer refuses to delete a call for 1.5 s after it ends (Twilio: about a minute): retry on its scale.
    TWILIO_DELETE_RETRY_MS: '1500',
    TWILIO_CPS: process.env.HOTLINE_PEER_CPS ?? '30', // the peer's own default (twilio-peer-webhooks.ts), so no suite waits on pacing
  };
}
