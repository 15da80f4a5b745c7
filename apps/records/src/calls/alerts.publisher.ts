import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { EscalationAlert } from '@hotline/contract';
import { AlertMessage, alertsChannel } from '@hotline/events';
import { REDIS } from '@hotline/observability';

/** Tells the gateways (and so the supervisors' consoles) about imminent risk at once. Ids and levels only. */
@Injectable()
export class AlertsPublisher {
  private readonly logger = new Logger(AlertsPublisher.name);

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Best effort after the record is committed: a Redis outage must not lose the record itself. */
  async escalation(alert: EscalationAlert & { escalationId?: string }): Promise<void> {
    const message: AlertMessage = { type: 'escalation', alert };
    try {
      await withTimeout(this.redis.publish(alertsChannel(this.redis.options.db), JSON.stringify(message)), 2000);
    } catch (e) {
      this.logger.error({ callId: alert.callId, err: (e as Error).message }, 'could not publish the escalation alert');
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
