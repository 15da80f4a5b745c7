import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { AlertMessage, alertsChannel } from '@hotline/events';
import { REDIS, withTimeout } from '@hotline/observability';
import { ReconcileResult, ReconcileService } from '@hotline/retention';

/** Runs the reconciliation; a refusal also alerts every supervisor's wallboard (the reason only). */
@Injectable()
export class ReconcileProcessor {
  private readonly logger = new Logger(ReconcileProcessor.name);

  constructor(
    private readonly reconcile: ReconcileService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async process(): Promise<ReconcileResult> {
    const result = await this.reconcile.run();
    if (result.refused) {
      const message: AlertMessage = { type: 'reconcile_refused', alert: { reason: result.refused, at: new Date().toISOString() } };
      await withTimeout(this.redis.publish(alertsChannel(this.redis.options.db), JSON.stringify(message)), 2000).catch((e: Error) =>
        this.logger.warn({ msg: 'reconcile refusal not announced to supervisors', error: e.name }),
      );
    }
    return result;
  }
}
