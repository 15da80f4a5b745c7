import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { CALLBACK_CAPS_PREFIX, CallbackCapMessage, callbackCapChannel } from '@hotline/calls/callback-caps';
import { ENV, Env } from '@hotline/config';
import { CALLBACK_CAPS, CALLBACK_CAP_STAGES, isId } from '@hotline/contract';
import { createRedis, withTimeout } from '@hotline/observability';
import { LiveEvents } from '../live/live-events';
import { ROUTING_REDIS } from '../state/routing-state';

/** How long a relayed alert's id is remembered, so that one gateway node alone relays it. */
const RELAYED_MS = 10 * 60_000;

/**
 * Relays to the wallboard (`alert:callback_cap`) the alerts records publishes when a cap on
 * callbacks' calls refused one (issue 24; the gateway raises its own booking caps' alerts directly).
 * Every node hears the channel; the first to claim the alert's id in Redis sends it through the
 * socket.io adapter to every supervisor, so each is told once. Anything malformed is dropped.
 */
@Injectable()
export class CallbackCapAlerts implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CallbackCapAlerts.name);
  private sub?: Redis;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(ROUTING_REDIS) private readonly redis: Redis,
    private readonly live: LiveEvents,
  ) {}

  onApplicationBootstrap(): void {
    this.sub = createRedis(this.env.REDIS_URL, { connectionName: 'hotline-callback-cap-alerts' });
    this.sub.on('error', () => undefined);
    const channel = callbackCapChannel(this.sub.options.db);
    this.sub.subscribe(channel).catch((e) => this.logger.warn(`subscribe failed: ${(e as Error).message}`));
    this.sub.on('message', (ch: string, raw: string) => {
      if (ch === channel) void this.relay(raw);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sub?.quit().catch(() => this.sub?.disconnect());
  }

  async relay(raw: string): Promise<boolean> {
    let m: CallbackCapMessage;
    try {
      m = JSON.parse(raw);
    } catch {
      return false;
    }
    if (!m || !isId(String(m.id)) || !CALLBACK_CAPS.includes(m.cap) || !CALLBACK_CAP_STAGES.includes(m.stage)) return false;
    const mine = await withTimeout(this.redis.set(`${CALLBACK_CAPS_PREFIX}:relayed:${m.id}`, '1', 'PX', RELAYED_MS, 'NX'), 1000).catch(
      () => null,
    );
    if (mine !== 'OK') return false;
    this.live.toSupervisors('alert:callback_cap', {
      cap: m.cap,
      stage: m.stage,
      at: typeof m.at === 'string' ? m.at : new Date().toISOString(),
    });
    return true;
  }
}
