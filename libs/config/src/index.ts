export * from './env.validation';
export * from './load-env';
export * from './defaults';
export * from './networks';
export * from './keys';
export * from './config.module';
export * from './retention-config';
export * from './wording';
