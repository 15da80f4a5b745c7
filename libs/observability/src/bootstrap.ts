import { INestApplication, LogLevel } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';

/** What every HTTP app does after create: structured logs, shutdown hooks. */
export function commonSetup(app: INestApplication): void {
  app.useLogger(app.get(PinoLogger));
  app.flushLogs();
  // Without this, onModuleDestroy drains never run on SIGTERM (twenty lost jobs for want of it).
  app.enableShutdownHooks();
}
