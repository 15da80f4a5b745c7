import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import type Redis from 'ioredis';
import { Env, HotlineConfigOptions } from '@hotline/config';
import { JobsModule } from '@hotline/jobs';
import { HealthProbe, REDIS, hotlineAppModule, loggerModuleParams, redisProbe } from '@hotline/observability';
import { RecordsDb, RecordsDbModule } from './records-db';
import { CallHandlingModule } from './call-handling.module';
import { ConsoleModule } from './console/console.module';

/**
 * Request logs for every route but the call-intake webhook: in a surge of calls a log line per
 * ring would cost about half of the intake's CPU (measured in bench/intake.bench.ts). Intake is
 * counted in `hotline_calls_total{step="incoming"}`; refusals and failures are still logged.
 */
function gatewayLoggerParams(env: Env) {
  return { ...loggerModuleParams('gateway', env), exclude: [{ method: RequestMethod.POST, path: 'twilio/voice/incoming' }] };
}

/** The internet-facing edge: Twilio webhooks, call routing, the live console. Holds no content key. */
@Module({})
export class GatewayModule {
  static forRoot(env: Env, options: HotlineConfigOptions = {}): DynamicModule {
    return hotlineAppModule(GatewayModule, {
      app: 'gateway',
      env,
      options,
      logger: gatewayLoggerParams(env),
      imports: [JobsModule.forRoot('fail-fast'), RecordsDbModule, CallHandlingModule, ConsoleModule],
      probes: {
        inject: [RecordsDb, REDIS],
        useFactory: (db: RecordsDb, redis: Redis): HealthProbe[] => [
          { name: 'mysql', check: async () => void (await (await db.get()).query('SELECT 1')) },
          redisProbe(redis),
        ],
      },
    });
  }
}
