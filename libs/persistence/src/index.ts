export * from './data-source';
export * from './database-identity';
export * from './persistence.module';
export * from './probes';
export * from './pool-timeout';
