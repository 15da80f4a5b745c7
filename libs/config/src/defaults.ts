import { join } from 'path';
import { DEFAULT_INTERNAL_NETWORKS } from './networks';

export const PROJECT_ROOT = join(__dirname, '..', '..', '..');

/** Defaults from the contract (DESIGN.md). Secrets deliberately have none. */
export const DEFAULTS: Record<string, string> = {
  DATABASE_URL: 'mysql://hotline:hotline@127.0.0.1:3306/hotline',
  KEYSTORE_URL: 'mysql://hotline:hotline@127.0.0.1:3306/hotline_keys',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  GATEWAY_PORT: '3000',
  RECORDS_PORT: '3001',
  WORKER_PORT: '3002',
  RECORDS_HOST: '127.0.0.1',
  WORKER_HOST: '127.0.0.1',
  PUBLIC_URL: 'http://localhost:3000',
  RECORDS_URL: 'http://127.0.0.1:3001',
  OFFER_TIMEOUT_SECONDS: '20',
  RETENTION_CONFIG: join(PROJECT_ROOT, 'config', 'retention.yaml'),
  WORDING_FILE: join(PROJECT_ROOT, 'config', 'wording.yaml'),
  ROUTING_CONFIG: join(PROJECT_ROOT, 'config', 'routing.yaml'),
  TIME_ZONE: 'UTC',
  SERVICE_LEVEL_SECONDS: '30',
  COMPLAINT_ACK_DAYS: '5',
  COMPLAINT_RESOLVE_DAYS: '28',
  RESEARCH_K: '5',
  RESEARCH_PERIOD: 'month',
  SESSION_TTL_SECONDS: String(10 * 3600),
  LOG_LEVEL: 'info',
  OPERATOR_GRACE_SECONDS: '30',
  WAIT_PAUSE_SECONDS: '15',
  CALL_BRIDGE: 'conference',
  DIRECTORY_FILE: join(PROJECT_ROOT, 'config', 'directory.yaml'),
  TRANSFER_RING_SECONDS: '20',
  TWILIO_DELETE_RETRY_MS: '60000',
  ROUTING_SWEEP_MS: '250',
  SMS_DELETE_AFTER_SECONDS: '300',
  PRIVACY_SMS_PER_NUMBER_PER_HOUR: '5',
  PRIVACY_SMS_PER_COUNTRY_PER_HOUR: '50',
  PRIVACY_SMS_PER_HOUR: '200',
  TRUSTED_PROXIES: 'loopback',
  INTERNAL_NETWORKS: DEFAULT_INTERNAL_NETWORKS,
  DB_POOL_ACQUIRE_TIMEOUT_MS: '5000',
  AUDIT_CHECKPOINT_DIR: join(PROJECT_ROOT, 'var', 'audit-checkpoints'),
  AUDIT_CHECKPOINT_INTERVAL_SECONDS: '300',
  SECOND_FACTOR_ROLES: 'supervisor,records_officer,auditor,admin',
  AGREEMENTS_DIR: join(PROJECT_ROOT, 'config', 'agreements'),
  SESSION_IDLE_SECONDS: String(30 * 60),
  CONSOLE_IDLE_LOCK_SECONDS: String(10 * 60),
};

/** Express's `trust proxy` value for TRUSTED_PROXIES (`none`: believe no forwarded address). */
export function trustProxySetting(trustedProxies: string): false | string[] {
  if (trustedProxies.trim() === 'none') return false;
  return trustedProxies
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * What each app must not be given (least privilege; docs/trust-model.md). The gateway faces the
 * internet: it holds no key that decrypts content or signs tokens, and cannot reach the keystore.
 */
export const GATEWAY_MUST_NOT_HOLD = [
  'MASTER_KEY',
  'MASTER_KEY_OLD',
  'KEYSTORE_URL',
  'BOOTSTRAP_ADMIN',
  'TOKEN_PRIVATE_KEY',
  'AUDIT_CHECKPOINT_KEY',
  'JWT_SECRET',
];
/** Records signs tokens and reads content; the checkpoint key that watches its audit writes is not its own. */
export const RECORDS_MUST_NOT_HOLD = ['AUDIT_CHECKPOINT_KEY', 'JWT_SECRET', 'TWILIO_AUTH_TOKEN_SECONDARY'];
/** The worker destroys content and signs audit checkpoints; it serves no staff, so it signs no tokens. */
export const WORKER_MUST_NOT_HOLD = ['TOKEN_PRIVATE_KEY', 'BOOTSTRAP_ADMIN', 'JWT_SECRET', 'TWILIO_AUTH_TOKEN_SECONDARY'];
