import { Provider } from '@nestjs/common';
import { ENV, Env, RetentionConfig, loadRetentionConfig } from '@hotline/config';

/** The parsed retention file (`RETENTION_CONFIG`), injectable as `@Inject(RETENTION_CONFIG)`. */
export const RETENTION_CONFIG = Symbol('RETENTION_CONFIG');

export const retentionConfigProvider: Provider = {
  provide: RETENTION_CONFIG,
  inject: [ENV],
  useFactory: (env: Env): RetentionConfig => loadRetentionConfig(env.RETENTION_CONFIG),
};
