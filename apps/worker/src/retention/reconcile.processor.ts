import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { CallDestructionSteps } from '@hotline/calls';
import { AlertMessage, alertsChannel } from '@hotline/events';
import { RetentionJobs } from '@hotline/jobs';
import { REDIS, withTimeout } from '@hotline/observability';
import { ReconcileResult, ReconcileService } from '@hotline/retention';

/**
 * Runs the reconciliation; a refusal also alerts every supervisor's wallboard (the reason only).
 * Also queues again every Twilio cleanup still waiting in MySQL (MySQL, not Redis, says what is left
 * to do): a job lost with Redis, or one that failed all its quick retries, runs again; one still
 * queued or running is not added twice (its job id).
 */
@Injectable()
export class ReconcileProcessor {
  private readonly logger = new Logger(ReconcileProcessor.name);

  constructor(
    private readonly reconcile: ReconcileService,
    private readonly calls: CallDestructionSteps,
    private readonly queue: RetentionJobs,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async process(): Promise<ReconcileResult & { twilioCleanupsQueued: number }> {
    const result = await this.reconcile.run();
    const lost = await this.calls.twilioCleanupsBefore(new Date(), 500);
    for (const id of lost) await this.queue.addTwilioCleanup(id);
    if (result.refused) {
      const message: AlertMessage = { type: 'reconcile_refused', alert: { reason: result.refused, at: new Date().toISOString() } };
      await withTimeout(this.redis.publish(alertsChannel(this.redis.options.db), JSON.stringify(message)), 2000).catch((e: Error) =>
        this.logger.warn({ msg: 'reconcile refusal not announced to supervisors', error: e.name }),
      );
    }
    return { ...result, twilioCleanupsQueued: lost.length };
  }
}
