/**
 * Each app's own Redis ACL user (Redis 7): the one source of truth for what the gateway, records and
 * the worker may do in Redis. `npm run -s cli -- redis:acl` prints these rules as `ACL SETUSER` lines
 * (`--aclfile`: as an ACL file, compose's), scripts/ensure-services.sh applies them on this machine,
 * the tests' globalSetup before any app connects; docs/trust-model.md describes them, and
 * test/security/trust-model.e2e-spec.ts checks that the document and the live server agree.
 *
 * Keys are granted by pattern (`~p` read-write, `%R~p` read-only), channels by pattern (`&p`),
 * commands by category. Key patterns hold no database number (ACL key patterns ignore SELECT), so the
 * same users serve every database of a server (each test run has its own).
 *
 * No import but Node's: the tests' globalSetup imports this file by relative path, outside jest's
 * module mapping. The key prefixes are the libraries' own (libs/routing, libs/jobs, libs/auth, ...);
 * test/security/redis-acl.e2e-spec.ts checks that every one of them is granted here.
 */
import { createHash } from 'crypto';

export type RedisApp = 'gateway' | 'records' | 'worker';
export const REDIS_APPS: readonly RedisApp[] = ['gateway', 'records', 'worker'];

/** Each app's Redis user, the variable holding its password, and the local development password (as for MySQL). */
export const REDIS_USERS: Record<RedisApp, { user: string; passwordVar: string; devPassword: string }> = {
  gateway: { user: 'hotline-gateway', passwordVar: 'REDIS_GATEWAY_PASSWORD', devPassword: 'hotline-gateway' },
  records: { user: 'hotline-records', passwordVar: 'REDIS_RECORDS_PASSWORD', devPassword: 'hotline-records' },
  worker: { user: 'hotline-worker', passwordVar: 'REDIS_WORKER_PASSWORD', devPassword: 'hotline-worker' },
};

/** Every variable naming an app's Redis password or URL (none of them is another app's business). */
export const REDIS_USER_VARS: readonly string[] = REDIS_APPS.flatMap((app) => [
  REDIS_USERS[app].passwordVar,
  `${app.toUpperCase()}_REDIS_URL`,
]);

/** A password is written into REDIS_URL unencoded (compose) and into ACL lines: URL-unreserved characters only. */
export const REDIS_PASSWORD_RULE = /^[A-Za-z0-9._~-]+$/;

export type RedisAccess = 'read' | 'read-write';

export interface RedisKeyGrant {
  /** A Redis glob over key names (`*`, `?`, `[...]`). */
  pattern: string;
  access: RedisAccess;
  /** What lives there and why this app touches it. */
  what: string;
}

export interface RedisChannelGrant {
  pattern: string;
  what: string;
}

/** BullMQ's key prefix (libs/jobs BULL_PREFIX): a queue's keys are `hl-bull:<queue>:...`. */
export const REDIS_BULL_PREFIX = 'hl-bull';

/** Every BullMQ queue (libs/jobs QueueName), which app adds its jobs and which runs them. */
export const REDIS_QUEUES: readonly { queue: string; producers: RedisApp[]; consumers: RedisApp[] }[] = [
  { queue: 'call-records', producers: ['gateway'], consumers: ['gateway'] },
  { queue: 'deletion-requests', producers: ['gateway', 'worker'], consumers: ['worker'] },
  { queue: 'sms', producers: ['gateway', 'worker'], consumers: ['worker'] },
  { queue: 'twilio', producers: ['gateway', 'worker'], consumers: ['worker'] },
  { queue: 'twilio-calls', producers: ['gateway', 'worker'], consumers: ['worker'] },
  { queue: 'retention', producers: ['worker'], consumers: ['worker'] },
];

/**
 * The socket.io namespaces of the gateway (libs/contract NAMESPACES, and `/`, which refuses every
 * connection but still has its adapter).
 */
export const SOCKET_IO_NAMESPACES: readonly string[] = ['/', '/operator', '/supervisor'];

/** Redis's default `databases 16`: the socket.io adapter's PSUBSCRIBE patterns are listed for each (see below). */
export const REDIS_DATABASES = 16;

const queueKeys = (app: RedisApp): RedisKeyGrant[] =>
  REDIS_QUEUES.filter((q) => q.producers.includes(app) || q.consumers.includes(app)).map((q) => ({
    pattern: `${REDIS_BULL_PREFIX}:${q.queue}:*`,
    access: 'read-write' as const,
    what: `BullMQ queue \`${q.queue}\`: ${[q.producers.includes(app) ? 'adds jobs' : '', q.consumers.includes(app) ? 'runs them' : '']
      .filter(Boolean)
      .join(', ')}`,
  }));

/**
 * The socket.io Redis adapter's PSUBSCRIBE patterns (`<key>#<namespace>#*`, key `socket.io-db<N>`).
 * Redis matches a PSUBSCRIBE pattern against the user's channel patterns literally (not as a glob),
 * so each must be listed as it is sent: one per namespace and database.
 */
export function socketIoPatternChannels(databases = REDIS_DATABASES): string[] {
  const out: string[] = [];
  for (let db = 0; db < databases; db++) for (const nsp of SOCKET_IO_NAMESPACES) out.push(`socket.io-db${db}#${nsp}#*`);
  return out;
}

/** What each app may reach: keys (read or read-write) and pub/sub channels. */
export const REDIS_GRANTS: Record<RedisApp, { keys: RedisKeyGrant[]; channels: RedisChannelGrant[] }> = {
  gateway: {
    keys: [
      {
        pattern: 'hl:{rt}:*',
        access: 'read-write',
        what: 'routing state (libs/routing): queue, offers, operators, conferences, caller location, overflow',
      },
      { pattern: 'hl:privacy:call:*', access: 'read-write', what: "the privacy line's state of one call" },
      { pattern: 'hl:{privacy-sms}:*', access: 'read-write', what: "the privacy line's caps on verification SMS" },
      { pattern: 'hl:{callback-caps}:*', access: 'read-write', what: 'caps on callbacks (booking), relayed alerts' },
      {
        pattern: 'hl:contact-keys',
        access: 'read-write',
        what: 'the pool of one-time public keys it seals numbers to (takes one, puts back an unused one)',
      },
      { pattern: 'hl:{twilio-cps}:*', access: 'read-write', what: 'the outbound pacer (calls per second, shared with records)' },
      { pattern: 'hl:{auth}:ended-session:*', access: 'read', what: 'sessions ended (signed out, idle)' },
      { pattern: 'hl:{auth}:sessions-ended-before:*', access: 'read', what: "a member's sessions ended up to a time (signed)" },
      { pattern: 'hl:{auth}:agreed:*', access: 'read', what: 'the agreement version a member accepted (signed)' },
      { pattern: 'hl:{auth}:locked:*', access: 'read', what: 'sessions locked by the idle lock' },
      { pattern: 'hl:{auth}:seen:*', access: 'read', what: 'when a session last made a request (idle limit)' },
      ...queueKeys('gateway'),
    ],
    channels: [
      { pattern: 'hl:{rt}:changed', what: 'routing changes (published by its Lua scripts, heard by every node)' },
      { pattern: 'hotline:alerts:db*', what: 'alerts for the wallboard (hears; publishes the privacy line SMS cap alerts)' },
      { pattern: 'hotline:sessions-ended:db*', what: "records' signed session announcements (hears)" },
      { pattern: 'hotline:callback-caps:db*', what: "records' callback cap alerts (hears)" },
      { pattern: 'socket.io-db*', what: "the socket.io adapter's channels (publishes, subscribes)" },
      ...socketIoPatternChannels().map((pattern) => ({ pattern, what: "the socket.io adapter's PSUBSCRIBE pattern (listed literally)" })),
    ],
  },
  records: {
    keys: [
      {
        pattern: 'hl:{auth}:*',
        access: 'read-write',
        what: 'sign-in and sessions: challenges, passkey registrations, session markers, agreements',
      },
      { pattern: '{hotline:login}:*', access: 'read-write', what: 'sign-in throttles: failures, waits, locks, known addresses' },
      { pattern: 'hl:{rt}:live', access: 'read', what: 'how many callers wait live (a callback waits for them)' },
      { pattern: 'hl:{rt}:loc:*', access: 'read', what: "a live call's caller-ID location (active rescue, after approval)" },
      { pattern: 'hl:contact-keys', access: 'read-write', what: 'the pool of one-time public keys (tops it up)' },
      { pattern: 'hl:{twilio-cps}:*', access: 'read-write', what: 'the outbound pacer (callbacks placed)' },
      { pattern: 'hl:{callback-caps}:*', access: 'read-write', what: 'caps on callbacks (dialling)' },
    ],
    channels: [
      { pattern: 'hotline:alerts:db*', what: 'alerts for the wallboard (publishes)' },
      { pattern: 'hotline:sessions-ended:db*', what: 'session announcements, signed (publishes)' },
      { pattern: 'hotline:callback-caps:db*', what: 'callback cap alerts (publishes)' },
    ],
  },
  worker: {
    keys: [
      { pattern: 'hl:contact-keys', access: 'read-write', what: 'the pool of one-time public keys (tops it up)' },
      ...queueKeys('worker'),
    ],
    channels: [{ pattern: 'hotline:alerts:db*', what: 'alerts for the wallboard (publishes)' }],
  },
};

/**
 * The commands of every app user, in order (a later rule overrides an earlier one): data commands
 * (which the key patterns then limit), transactions, Lua scripts (each `redis.call` inside is checked
 * too), pub/sub (limited by the channel patterns) and connection commands; never an administrative or
 * dangerous one (FLUSHDB, FLUSHALL, KEYS, CONFIG, ACL, DEBUG, MONITOR, CLIENT LIST/KILL, SORT, ...).
 * Added back: INFO (ioredis' ready check and BullMQ read the server version), TIME (the pacer's script).
 * Taken away: SCAN and RANDOMKEY (they name keys outside the patterns), SCRIPT (FLUSH, KILL, LOAD),
 * FUNCTION and FCALL (server-wide libraries), client-side caching.
 */
export const REDIS_APP_COMMANDS: readonly string[] = [
  '-@all',
  '+@read',
  '+@write',
  '+@transaction',
  '+@scripting',
  '+@pubsub',
  '+@connection',
  '-@admin',
  '-@dangerous',
  '+info',
  '+time',
  '-scan',
  '-randomkey',
  '-script',
  '-function',
  '-fcall',
  '-fcall_ro',
  '-client|tracking',
  '-client|caching',
];

export class RedisAclError extends Error {}

/** The app's Redis password: its variable's value, or else the local development password. */
export function redisPassword(app: RedisApp, env: NodeJS.ProcessEnv = process.env): string {
  return env[REDIS_USERS[app].passwordVar] || REDIS_USERS[app].devPassword;
}

/** The passwords the rules are printed with: every variable must be set (`REDIS_GATEWAY_PASSWORD`, ...). */
export function requiredRedisPasswords(env: NodeJS.ProcessEnv = process.env): Record<RedisApp, string> {
  const missing = REDIS_APPS.filter((a) => !env[REDIS_USERS[a].passwordVar]).map((a) => REDIS_USERS[a].passwordVar);
  if (missing.length)
    throw new RedisAclError(`${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required: the password of each app's Redis user`);
  return Object.fromEntries(REDIS_APPS.map((a) => [a, env[REDIS_USERS[a].passwordVar]!])) as Record<RedisApp, string>;
}

/** The development passwords, each overridable by its variable (this machine's set-up: ensure-services, tests, demo). */
export function localRedisPasswords(env: NodeJS.ProcessEnv = process.env): Record<RedisApp, string> {
  return Object.fromEntries(REDIS_APPS.map((a) => [a, redisPassword(a, env)])) as Record<RedisApp, string>;
}

/** The user's rules after its name: state, password (SHA-256, never the password itself), keys, channels, commands. */
export function redisAclRules(app: RedisApp, password: string): string[] {
  if (!REDIS_PASSWORD_RULE.test(password))
    throw new RedisAclError(`${REDIS_USERS[app].passwordVar} may hold letters, digits and - _ . ~ only (it is written into REDIS_URL)`);
  const g = REDIS_GRANTS[app];
  return [
    'reset',
    'on',
    `#${createHash('sha256').update(password).digest('hex')}`,
    ...g.keys.map((k) => (k.access === 'read' ? `%R~${k.pattern}` : `~${k.pattern}`)),
    ...g.channels.map((c) => `&${c.pattern}`),
    ...REDIS_APP_COMMANDS,
  ];
}

/** One `ACL SETUSER` line per app user, for `redis-cli` to apply. */
export function redisAclSetUserLines(passwords: Record<RedisApp, string>): string[] {
  return REDIS_APPS.map((app) => ['ACL', 'SETUSER', REDIS_USERS[app].user, ...redisAclRules(app, passwords[app])].join(' '));
}

/**
 * The same rules as an ACL file (`redis-server --aclfile`, compose's). Redis's `default` user, which
 * every client without a user name is, is disabled; given `adminPassword`, it is kept for an
 * operator's administration behind that password (every right, as Redis's own default).
 */
export function redisAclFileLines(passwords: Record<RedisApp, string>, adminPassword?: string): string[] {
  if (adminPassword !== undefined && adminPassword !== '' && !REDIS_PASSWORD_RULE.test(adminPassword))
    throw new RedisAclError('REDIS_ADMIN_PASSWORD may hold letters, digits and - _ . ~ only');
  const admin = adminPassword
    ? `user default reset on #${createHash('sha256').update(adminPassword).digest('hex')} ~* &* +@all`
    : 'user default reset off';
  return [admin, ...REDIS_APPS.map((app) => ['user', REDIS_USERS[app].user, ...redisAclRules(app, passwords[app])].join(' '))];
}

/** `ACL SETUSER` as arguments (for a client's `call`), per app user. */
export function redisAclSetUserArgs(passwords: Record<RedisApp, string>): string[][] {
  return REDIS_APPS.map((app) => ['SETUSER', REDIS_USERS[app].user, ...redisAclRules(app, passwords[app])]);
}

/** `url` (the harness's or an operator's, any user) as `app`'s own Redis user, same server and database. */
export function asRedisUser(url: string, app: RedisApp, env: NodeJS.ProcessEnv = process.env): string {
  const u = new URL(url);
  u.username = REDIS_USERS[app].user;
  u.password = encodeURIComponent(redisPassword(app, env));
  return u.toString();
}

/** Whether a REDIS_URL connects as Redis's `default` user (no user named, or `default`). */
export function isDefaultRedisUser(url: string): boolean {
  try {
    const name = decodeURIComponent(new URL(url).username);
    return name === '' || name === 'default';
  } catch {
    return false;
  }
}
