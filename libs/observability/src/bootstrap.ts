import { INestApplication } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';

/** How long an app may take to stop after SIGTERM/SIGINT before it exits anyway. */
export const SHUTDOWN_GRACE_MS = 8000;

let watchdogInstalled = false;

/** What every HTTP app does after create: structured logs, shutdown hooks, a bounded shutdown. */
export function commonSetup(app: INestApplication): void {
  app.useLogger(app.get(PinoLogger));
  app.flushLogs();
  // Without this, onModuleDestroy drains never run on SIGTERM (twenty lost jobs for want of it).
  app.enableShutdownHooks();
  installShutdownWatchdog(app.get(PinoLogger));
}

/**
 * Drains wait for MySQL and Redis; when one of them is away (or hangs) a drain can wait forever and
 * an orchestrator's SIGTERM would be answered only by its SIGKILL. After SHUTDOWN_GRACE_MS the
 * process exits (status 1, with a warning) whatever is still pending. The timer is unref'd: a clean
 * shutdown exits as soon as it is done.
 */
function installShutdownWatchdog(logger: PinoLogger): void {
  if (watchdogInstalled) return;
  watchdogInstalled = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        logger.warn({ msg: 'shutdown did not finish in time; exiting', signal, graceMs: SHUTDOWN_GRACE_MS });
        process.exit(1);
      }, SHUTDOWN_GRACE_MS).unref();
    });
  }
}
