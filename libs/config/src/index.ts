export * from './env.validation';
export * from './load-env';
export * from './defaults';
export * from './config.module';
export * from './retention-config';
export * from './wording';
