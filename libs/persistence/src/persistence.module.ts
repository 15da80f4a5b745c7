import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ENV, Env } from '@hotline/config';
import { KEYSTORE, keystoreDataSourceOptions, recordsDataSourceOptions } from './data-source';

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
    return { module: PersistenceModule, imports, exports: [TypeOrmModule] };
  }
}
