import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, systemClock } from '@hotline/clock';
import { EnvironmentVariables } from './env.validation';
import { RETENTION_CONFIG, retentionConfig } from './retention-config';
import { ROUTING_CONFIG, loadRoutingConfig } from './routing-config';
import { WORDING, loadWording } from './wording';
import { DIRECTORY, loadDirectory } from './directory';

export const ENV = Symbol('ENV');

/** What an app may be given besides its environment (tests give a clock they can move). */
export interface HotlineConfigOptions {
  clock?: Clock;
}

/**
 * Makes the configuration injectable, read and checked once at start: the validated environment
 * (`@Inject(ENV) env: Env`), the retention file (`@Inject(RETENTION_CONFIG)`), the routing file
 * (`@Inject(ROUTING_CONFIG)`), the wording file (`@Inject(WORDING)`), the transfer directory (`@Inject(DIRECTORY)`), and the clock (`Clock`, the system clock unless a test gives one). Apps
 * validate the environment in main.ts (loadEnvOrExit) and pass it here; a bad retention or
 * wording file stops the app as it starts, with an error naming the problem.
 */
@Global()
@Module({})
export class HotlineConfigModule {
  static forRoot(env: EnvironmentVariables, options: HotlineConfigOptions = {}): DynamicModule {
    return {
      module: HotlineConfigModule,
      providers: [
        { provide: ENV, useValue: env },
        { provide: RETENTION_CONFIG, useFactory: () => retentionConfig(env) },
        { provide: WORDING, useFactory: () => loadWording(env.WORDING_FILE) },
        { provide: ROUTING_CONFIG, useFactory: () => loadRoutingConfig(env.ROUTING_CONFIG) },
        { provide: DIRECTORY, useFactory: () => loadDirectory(env.DIRECTORY_FILE) },
        { provide: Clock, useValue: options.clock ?? systemClock },
      ],
      exports: [ENV, RETENTION_CONFIG, WORDING, ROUTING_CONFIG, DIRECTORY, Clock],
    };
  }
}
