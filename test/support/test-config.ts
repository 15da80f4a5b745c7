/**
 * Where a test run keeps its data. Each run gets its own databases (`hotline_<id>`,
 * `hotline_keys_<id>`) and Redis database, so that two runs on one machine cannot meet:
 * set HOTLINE_TEST_ID (letters, digits, _) and HOTLINE_TEST_REDIS_DB (1-15) to separate them.
 * Relative imports only: globalSetup runs outside jest's module mapping.
 */
export const TEST_ID = (process.env.HOTLINE_TEST_ID ?? 'test').replace(/[^A-Za-z0-9_]/g, '_');
export const TEST_REDIS_DB = Number(process.env.HOTLINE_TEST_REDIS_DB ?? 1);
const MYSQL = process.env.HOTLINE_TEST_MYSQL ?? 'mysql://hotline:hotline@127.0.0.1:3306';
const REDIS = process.env.HOTLINE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export const TEST_DATABASE_URL = `${MYSQL}/hotline_${TEST_ID}`;
export const TEST_KEYSTORE_URL = `${MYSQL}/hotline_keys_${TEST_ID}`;
export const TEST_REDIS_URL = `${REDIS}/${TEST_REDIS_DB}`;

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

export function testEnvVars(): Record<string, string> {
  return {
    AUDIT_CHECKPOINT_DIR: TEST_AUDIT_CHECKPOINT_DIR,
    AUDIT_CHECKPOINT_KEY: TEST_AUDIT_CHECKPOINT_KEY,
    AUDIT_CHECKPOINT_PUBLIC_KEY: TEST_AUDIT_CHECKPOINT_PUBLIC_KEY,
    DATABASE_URL: TEST_DATABASE_URL,
    KEYSTORE_URL: TEST_KEYSTORE_URL,
    REDIS_URL: TEST_REDIS_URL,
    ...TEST_SECRETS,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
}
