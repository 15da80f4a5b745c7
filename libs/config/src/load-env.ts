import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { DEFAULTS } from './defaults';
import { ConfigurationError, EnvironmentVariables, Secret } from './env.validation';
import { masterKeyProblems } from './keys';
import { REDIS_USERS, RedisApp, isDefaultRedisUser } from './redis-acl';

const INTEGER_KEYS = [
  'GATEWAY_PORT',
  'RECORDS_PORT',
  'WORKER_PORT',
  'OFFER_TIMEOUT_SECONDS',
  'SERVICE_LEVEL_SECONDS',
  'COMPLAINT_ACK_DAYS',
  'COMPLAINT_RESOLVE_DAYS',
  'RESEARCH_K',
  'SESSION_TTL_SECONDS',
  'OPERATOR_GRACE_SECONDS',
  'WAIT_PAUSE_SECONDS',
  'TRANSFER_RING_SECONDS',
  'TWILIO_DELETE_RETRY_MS',
  'ROUTING_SWEEP_MS',
  'SMS_DELETE_AFTER_SECONDS',
  'PRIVACY_SMS_PER_NUMBER_PER_HOUR',
  'PRIVACY_SMS_PER_COUNTRY_PER_HOUR',
  'PRIVACY_SMS_PER_HOUR',
  'AUDIT_CHECKPOINT_INTERVAL_SECONDS',
  'DB_POOL_ACQUIRE_TIMEOUT_MS',
  'SESSION_IDLE_SECONDS',
  'CONSOLE_IDLE_LOCK_SECONDS',
];

/**
 * Validates the environment (with the contract's defaults) and returns it typed.
 * `required` lists the secrets this app cannot run without; a missing one is named in the error.
 * Called in each main.ts before NestFactory.create, so a bad variable stops the app at boot.
 */
export function loadEnv(required: Secret[] = [], source: NodeJS.ProcessEnv = process.env): EnvironmentVariables {
  const raw: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') raw[k] = v;
  // The one variable whose empty value means something (DESIGN.md): no role needs a second factor.
  if (source.SECOND_FACTOR_ROLES === '') raw.SECOND_FACTOR_ROLES = '';
  for (const k of INTEGER_KEYS) {
    const v = raw[k];
    if (typeof v === 'string') raw[k] = /^\d+$/.test(v) ? Number(v) : v;
  }
  const env = plainToInstance(EnvironmentVariables, raw, { enableImplicitConversion: false });
  const problems: string[] = [];
  for (const error of validateSync(env, { whitelist: false, forbidUnknownValues: false })) {
    const messages = Object.values(error.constraints ?? {});
    problems.push(
      messages.length
        ? messages.map((m) => (m.includes(error.property) ? m : `${error.property}: ${m}`)).join('; ')
        : `${error.property} is invalid`,
    );
  }
  for (const key of required) {
    if (!env[key]) problems.push(`${key} is required (demo mode generates it; see README "Running for real")`);
  }
  problems.push(...masterKeyProblems(env));
  if (env.PSEUDONYM_KEY && Buffer.from(env.PSEUDONYM_KEY, 'base64').length < 32)
    problems.push('PSEUDONYM_KEY must be base64 of at least 32 bytes');
  if (problems.length) throw new ConfigurationError(problems);
  return env;
}

/**
 * For main.ts: print the problems plainly and exit, rather than a stack trace. `unneeded` names
 * what this app must not hold (another app's secrets): given one, it starts and warns naming it, so
 * that a deployment which hands every app every secret is told so.
 */
export function loadEnvOrExit(
  app: string,
  required: Secret[],
  unneeded: string[] = [],
  source: NodeJS.ProcessEnv = process.env,
): EnvironmentVariables {
  try {
    const env = loadEnv(required, source);
    const given = unneeded.filter((k) => source[k]);
    if (given.length)
      process.stderr.write(
        `[${app}] warning: given ${given.join(', ')}, which the ${app} does not need; remove ${given.length > 1 ? 'them' : 'it'} from its environment (least privilege)\n`,
      );
    const redisWarning = defaultRedisUserWarning(app, env.REDIS_URL, source);
    if (redisWarning) process.stderr.write(`${redisWarning}\n`);
    return env;
  } catch (e) {
    if (e instanceof ConfigurationError) {
      process.stderr.write(`[${app}] cannot start. ${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
}

/**
 * An app (not the demo, not the test harness: NODE_ENV=test or HOTLINE_TEST_ID) whose REDIS_URL connects
 * as Redis's `default` user, which may read and change every key (sign-in challenges, ended sessions,
 * queued jobs): the warning that names the fix, or null. Never prints the URL (it may carry a password).
 */
export function defaultRedisUserWarning(app: string, redisUrl: string, source: NodeJS.ProcessEnv = process.env): string | null {
  const harness = source.HOTLINE_DEMO === '1' || source.NODE_ENV === 'test' || !!source.HOTLINE_TEST_ID;
  if (!(app in REDIS_USERS) || harness || !isDefaultRedisUser(redisUrl)) return null;
  const { user, passwordVar } = REDIS_USERS[app as RedisApp];
  return (
    `[${app}] warning: REDIS_URL connects as Redis's default user, which can read and change every key (sign-in challenges, ended sessions, queued jobs); ` +
    `connect as the ${app}'s own ACL user: REDIS_URL=redis://${user}:<${passwordVar}>@<host>:6379/0, the users created with ` +
    `\`npm run -s cli -- redis:acl | redis-cli\` (docs/trust-model.md)`
  );
}
