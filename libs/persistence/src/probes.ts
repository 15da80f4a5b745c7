import { getDataSourceToken } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { HealthProbe, REDIS, mysqlProbe, redisProbe } from '@hotline/observability';
import { KEYSTORE } from './data-source';

/** `/health` of an app that holds both databases (records, worker): MySQL, the keystore, Redis. */
export const databasesAndRedisProbes = {
  inject: [getDataSourceToken(), getDataSourceToken(KEYSTORE), REDIS],
  useFactory: (db: DataSource, keys: DataSource, redis: Redis): HealthProbe[] => [
    mysqlProbe('mysql', () => db),
    mysqlProbe('keystore', () => keys),
    redisProbe(redis),
  ],
};
