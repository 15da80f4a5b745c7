import { DynamicModule, FactoryProvider, ModuleMetadata, Provider, Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule, Params } from 'nestjs-pino';
import { Env, HotlineConfigModule, HotlineConfigOptions } from '@hotline/config';
import { GlobalExceptionFilter } from './exception.filter';
import { HEALTH_PROBES, HealthController, HealthService, HealthProbe } from './health';
import { loggerModuleParams } from './logger';
import { MetricsModule } from './metrics';
import { RedisModule } from './redis.module';

export interface HotlineAppSpec {
  /** The app's name in its log lines. */
  app: string;
  env: Env;
  options?: HotlineConfigOptions;
  /** Request logging, when the app's differs from the default. */
  logger?: Params;
  /** The app's own modules. */
  imports: ModuleMetadata['imports'];
  /** What `/health` checks. */
  probes: Omit<FactoryProvider<HealthProbe[]>, 'provide'>;
  providers?: Provider[];
}

/**
 * What every app's root module has, in one place: the validated environment, structured logs,
 * Redis, metrics, `/health` with the app's probes, and the exception filter that answers errors
 * in one shape. Each app adds its own modules, probes and providers.
 */
export function hotlineAppModule(module: Type, spec: HotlineAppSpec): DynamicModule {
  return {
    module,
    imports: [
      HotlineConfigModule.forRoot(spec.env, spec.options ?? {}),
      LoggerModule.forRoot(spec.logger ?? loggerModuleParams(spec.app, spec.env)),
      RedisModule.forRoot(),
      MetricsModule,
      ...(spec.imports ?? []),
    ],
    controllers: [HealthController],
    providers: [
      HealthService,
      { provide: HEALTH_PROBES, ...spec.probes },
      { provide: APP_FILTER, useClass: GlobalExceptionFilter },
      ...(spec.providers ?? []),
    ],
  };
}
