import { DynamicModule, Global, Inject, Injectable, Module, Optional } from '@nestjs/common';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ENV, Env } from '@hotline/config';
import { KEYSTORE, keystoreDataSourceOptions, recordsDataSourceOptions } from './data-source';
import { withPoolAcquireTimeout } from './pool-timeout';

/** Both data sources answer 503 after DB_POOL_ACQUIRE_TIMEOUT_MS without a free connection, instead of hanging. */
@Injectable()
class PoolAcquireTimeouts {
  constructor(
    @Inject(ENV) env: Env,
    @Inject(getDataSourceToken()) records: DataSource,
    @Optional() @Inject(getDataSourceToken(KEYSTORE)) keystore?: DataSource,
  ) {
    for (const ds of [records, keystore]) if (ds) withPoolAcquireTimeout(ds, env.DB_POOL_ACQUIRE_TIMEOUT_MS);
  }
}

/**
 * Both connections: the records database (default) and the keystore (named `keystore`).
 * Apps that never touch data keys (the gateway) pass `{ keystore: false }`.
 */
@Global()
@Module({})
export class PersistenceModule {
  static forRoot(opts: { keystore?: boolean } = {}): DynamicModule {
    const imports = [
      TypeOrmModule.forRootAsync({
        inject: [ENV],
        useFactory: (env: Env) => ({ ...recordsDataSourceOptions(env.DATABASE_URL), retryAttempts: 2, retryDelay: 500 }),
      }),
    ];
    if (opts.keystore !== false) {
      imports.push(
        TypeOrmModule.forRootAsync({
          name: KEYSTORE,
          inject: [ENV],
          useFactory: (env: Env) => ({ ...keystoreDataSourceOptions(env.KEYSTORE_URL), retryAttempts: 2, retryDelay: 500 }),
        }),
      );
    }
    return { module: PersistenceModule, imports, providers: [PoolAcquireTimeouts], exports: [TypeOrmModule] };
  }
}
