import { DynamicModule, Global, Module } from '@nestjs/common';
import { EnvironmentVariables } from './env.validation';

export const ENV = Symbol('ENV');

/**
 * Makes the validated environment injectable as `@Inject(ENV) env: Env`.
 * Apps validate once in main.ts (loadEnvOrExit) and pass the result here.
 */
@Global()
@Module({})
export class HotlineConfigModule {
  static forRoot(env: EnvironmentVariables): DynamicModule {
    return { module: HotlineConfigModule, providers: [{ provide: ENV, useValue: env }], exports: [ENV] };
  }
}
