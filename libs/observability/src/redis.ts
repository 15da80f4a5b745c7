import Redis, { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { createLogger } from './logger';

let log: Logger | undefined;
const ERROR_LOG_EVERY_MS = 10_000;

/**
 * Connection errors as structured warnings, at most one per connection every 10 s, instead of
 * ioredis's `[ioredis] Unhandled error event` stack traces on stderr. Reconnecting is ioredis's job.
 */
export function warnOnRedisErrors(client: Redis, connection: string): Redis {
  let last = 0;
  client.on('error', (e: Error & { code?: string }) => {
    const now = Date.now();
    if (now - last < ERROR_LOG_EVERY_MS) return;
    last = now;
    log ??= createLogger('redis');
    log.warn({ msg: 'redis connection error', connection, error: e.name, code: e.code, detail: e.message.slice(0, 200) });
  });
  return client;
}

/**
 * ioredis connection from REDIS_URL. `maxRetriesPerRequest: null` is what BullMQ requires;
 * reconnects go on forever with a capped backoff so that a Redis restart heals by itself.
 */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
  return warnOnRedisErrors(client, extra.connectionName ?? 'hotline');
}

/** Connection options object (for BullMQ, which wants options rather than a URL). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number(u.pathname.replace('/', '') || 0),
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}
