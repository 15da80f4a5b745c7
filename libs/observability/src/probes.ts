import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import { HealthProbe } from './health';

export function mysqlProbe(name: string, ds: () => DataSource | undefined): HealthProbe {
  return {
    name,
    async check() {
      const d = ds();
      if (!d?.isInitialized) throw new Error('not connected');
      await d.query('SELECT 1');
    },
  };
}

export function redisProbe(redis: Redis): HealthProbe {
  return {
    name: 'redis',
    async check() {
      if (redis.status === 'end') throw new Error('connection closed');
      await redis.ping();
    },
  };
}
