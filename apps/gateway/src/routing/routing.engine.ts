import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { alertsChannel } from '@hotline/events';
import { counter, createRedis } from '@hotline/observability';
import { RoutingStore } from '@hotline/routing';
import { LiveEvents } from '../live/live-events';

const offersMade = counter('hotline_offers_total', 'Offers made to operators');
const offersLapsed = counter('hotline_offers_lapsed_total', 'Offers revoked because the operator did not answer in time');

/**
 * Runs on every gateway node. Matching and sweeping are atomic scripts, so nodes never fight:
 * whichever node runs first makes the offer and sends it (through the socket.io Redis adapter).
 * A node matches on every routing change (Redis pub/sub), right after its own changes, and on a
 * short interval, which is also how offer expiry and the disconnect grace period work across
 * nodes and survive a restart: the deadlines live in Redis, not in a process's timers.
 * Each node also beats in Redis; a node that stops beating (killed, frozen) has its operators'
 * sockets taken off the count by the others, so nobody is offered calls through a dead node.
 */
@Injectable()
export class RoutingEngine implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(RoutingEngine.name);
  private sub?: Redis;
  private timer?: NodeJS.Timeout;
  private matching = false;
  private again = false;
  private sweeping = false;
  private stopped = false;
  private ticks = 0;
  private lastBeat = 0;

  constructor(
    @Inject(ENV) private readonly env: Env,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Beat before the first socket connects, so no other node takes this one for dead meanwhile.
    await this.beat().catch((e) => this.logger.warn(`no heartbeat yet (${(e as Error).message}); the sweep retries`));
    this.sub = createRedis(this.env.REDIS_URL, { connectionName: 'hotline-routing-events' });
    this.sub.on('error', () => undefined);
    const alerts = alertsChannel(this.sub.options.db);
    this.sub.subscribe(this.store.changedChannel, alerts).catch((e) => this.logger.warn(`subscribe failed: ${e.message}`));
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === alerts) return this.live.relayAlert(message);
      this.kick();
      this.live.statsChanged();
    });
    // ioredis re-subscribes by itself after a reconnect; re-match then, in case changes were missed.
    this.sub.on('ready', () => this.kick());
    this.timer = setInterval(() => void this.tick(), this.env.ROUTING_SWEEP_MS);
    this.timer.unref();
  }

  /** Before the sockets close: they stop counting at once, and their operators get the grace period to reconnect to another node. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    try {
      for (const r of await this.store.leave()) this.live.revoked(r.operatorId, r.callId, 'disconnected');
    } catch (e) {
      this.logger.warn(`node not deregistered (${(e as Error).message}); the other nodes drop its sockets when its heartbeat lapses`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.live.stop();
    await this.sub?.quit().catch(() => this.sub?.disconnect());
  }

  /** Match soon; calls made while a match runs are folded into one more run. */
  kick(): void {
    if (this.stopped) return;
    if (this.matching) {
      this.again = true;
      return;
    }
    this.matching = true;
    void this.runMatch();
  }

  private async runMatch(): Promise<void> {
    try {
      do {
        this.again = false;
        const now = this.clock.nowMs();
        const offers = await this.store.match(now);
        for (const o of offers) this.live.offered(o, now);
        offersMade.inc(offers.length);
      } while (this.again && !this.stopped);
    } catch (e) {
      this.logger.debug(`match: ${(e as Error).message}`);
    } finally {
      this.matching = false;
    }
  }

  private async beat(): Promise<void> {
    const revoked = await this.store.heartbeat();
    this.lastBeat = Date.now();
    for (const r of revoked) this.live.revoked(r.operatorId, r.callId, 'disconnected');
  }

  private async tick(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      if (Date.now() - this.lastBeat >= this.store.heartbeatMs) await this.beat();
      for (const e of await this.store.sweep()) {
        if (e.kind === 'timeout') {
          offersLapsed.inc();
          this.live.revoked(e.operatorId, e.callId, 'timeout');
          this.live.toOperator(e.operatorId, 'status', { status: 'away', reason: 'timeout' });
        } else if (e.kind === 'connect_stale') {
          this.live.revoked(e.operatorId, e.callId, 'connect_failed');
          await this.live.sendStatus(e.operatorId);
        } else if (e.kind === 'revoked') {
          this.live.revoked(e.operatorId, e.callId, 'disconnected');
        } else if (e.kind === 'node_gone') {
          this.logger.warn(`gateway node ${e.nodeId} stopped beating; its operators' sockets no longer count`);
        }
      }
      this.kick();
      // Wait times grow without any change: refresh the wallboards every few seconds too.
      if (++this.ticks % 20 === 0) this.live.statsChanged();
    } catch (e) {
      this.logger.debug(`sweep: ${(e as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }
}
