import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { systemClock } from '@hotline/clock';
import type { OperatorStatus, QueueStats } from '@hotline/contract';
import { readQueueStats } from './queue-stats';
import { RoutingScript, RoutingScriptSource, routingKeys, routingScripts } from './routing.scripts';
import {
  AcceptResult,
  CallState,
  CallStatusResult,
  Offer,
  OperatorState,
  QueuedCall,
  RoutingOptions,
  SweepEvent,
  dayKey,
  offersOf,
  pairsOf,
} from './routing.types';

export const DEFAULT_ROUTING_PREFIX = 'hl:{rt}:';

export * from './routing.types';

/**
 * Live routing state in Redis. Every change is one Lua script (see lua/*.lua), so any
 * number of gateway nodes may call these at once: a call is offered to one operator at a time,
 * an operator holds at most one offer or call, and an accept wins exactly once.
 */
export class RoutingStore {
  readonly prefix: string;
  readonly changedChannel: string;
  readonly nodeId: string;
  private readonly o: Required<RoutingOptions>;
  /** This node's sockets per operator, as it knows them: what a heartbeat counts again after a lapse. */
  private readonly sockets = new Map<string, number>();
  private left = false;
  private readonly scripts: Record<RoutingScript, RoutingScriptSource>;

  constructor(
    private readonly redis: Redis,
    options: RoutingOptions,
  ) {
    this.o = {
      prefix: DEFAULT_ROUTING_PREFIX,
      connectTimeoutMs: 15_000,
      declineSkipMs: options.offerTimeoutMs,
      nodeId: randomUUID(),
      nodeTtlMs: 6000,
      clock: systemClock,
      ...options,
    };
    this.prefix = this.o.prefix;
    this.nodeId = this.o.nodeId;
    this.changedChannel = this.prefix + 'changed';
    this.scripts = routingScripts(this.prefix);
    for (const s of Object.values(this.scripts)) {
      if (!(redis as any)[this.cmd(s.name)]) redis.defineCommand(this.cmd(s.name), { numberOfKeys: s.keys.length, lua: s.lua });
    }
  }

  get options(): Readonly<Required<RoutingOptions>> {
    return this.o;
  }

  private cmd(name: RoutingScript): string {
    return `hl_routing_${name}`;
  }

  /** Runs a script: its KEYS are built from its arguments (see the script's KEYS and ARGV lines). */
  private run<T>(name: RoutingScript, ...args: (string | number)[]): Promise<T> {
    return (this.redis as any)[this.cmd(name)](...routingKeys(this.scripts[name], this.prefix, args), ...args.map(String));
  }

  private day(now: number): string {
    return dayKey(now, this.o.timeZone);
  }

  /**
   * Puts a call in the queue and matches at once, returning the offers made (to be sent). A call
   * already known (queued, on a call or ended) is left as it is.
   */
  async enqueue(c: QueuedCall, now = this.o.clock.nowMs()): Promise<{ state: 'queued' | CallState['state']; offers: Offer[] }> {
    const [state, ...flat]: string[] = await this.run(
      'enqueue',
      c.callId,
      c.callSid,
      c.pseudonym ?? '',
      c.recordingConsent ? 1 : 0,
      c.enqueuedAt,
      now,
      this.o.offerTimeoutMs,
    );
    return { state: state as 'queued' | CallState['state'], offers: offersOf(flat) };
  }

  /** Offers waiting calls to available operators, oldest call to longest-idle operator. */
  async match(now = this.o.clock.nowMs(), max = 50): Promise<Offer[]> {
    return offersOf(await this.run<string[]>('match', now, this.o.offerTimeoutMs, max));
  }

  async accept(callId: string, operatorId: string, now = this.o.clock.nowMs()): Promise<AcceptResult> {
    const r: string[] = await this.run('accept', callId, operatorId, now, this.o.connectTimeoutMs);
    if (r[0] !== 'ok') return { ok: false, error: r[0] as any };
    return { ok: true, call: { callSid: r[1], recordingConsent: r[2] === '1', pseudonym: r[3] || null, enqueuedAt: Number(r[4]) } };
  }

  /** Twilio connected the caller: the operator is on the call. false when the call ended meanwhile. */
  async connected(callId: string, operatorId: string, now = this.o.clock.nowMs()): Promise<boolean> {
    const r: string[] = await this.run('connected', callId, operatorId, now, this.o.serviceLevelMs, this.day(now));
    return r[0] === 'ok';
  }

  /** The operator's browser never answered the connect: back to the front of the queue, operator away. */
  async requeueMissed(callId: string, operatorId: string, now = this.o.clock.nowMs()): Promise<'requeued' | 'ignored'> {
    return this.run('requeueMissed', callId, operatorId, now);
  }

  /** Twilio refused the connect: the call goes back to the queue, or is closed when Twilio says it is gone. */
  async connectFailed(
    callId: string,
    operatorId: string,
    callGone: boolean,
    now = this.o.clock.nowMs(),
  ): Promise<'requeued' | 'closed' | string> {
    return this.run('connectFailed', callId, operatorId, now, callGone ? 1 : 0, this.day(now));
  }

  /**
   * The call goes back to the front of the queue; the decliner stays available but behind every
   * other free operator (idle since now), and is passed over for this call for `declineSkipMs`.
   */
  async decline(callId: string, operatorId: string, now = this.o.clock.nowMs()): Promise<boolean> {
    return (await this.run<string>('decline', callId, operatorId, now, this.o.declineSkipMs)) === 'ok';
  }

  /** Dead nodes' sockets, lapsed offers (operator set away), stale connects, and operators whose grace period ended. */
  async sweep(now = this.o.clock.nowMs(), max = 100): Promise<SweepEvent[]> {
    const flat: string[] = await this.run('sweep', now, max, this.nodeId, this.o.graceMs);
    const out: SweepEvent[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const kind = flat[i] as SweepEvent['kind'];
      out.push(
        kind === 'node_gone'
          ? { kind, callId: '', operatorId: '', nodeId: flat[i + 2] }
          : { kind, callId: flat[i + 1], operatorId: flat[i + 2] },
      );
    }
    return out;
  }

  /** How often a node beats (a third of the time after which it counts as dead). */
  get heartbeatMs(): number {
    return Math.max(100, Math.floor(this.o.nodeTtlMs / 3));
  }

  /**
   * This node is alive. After a lapse (Redis away, a stall) in which another node gave it up for
   * dead, its sockets are counted again. Returns offers revoked because the counts went down.
   */
  async heartbeat(now = this.o.clock.nowMs()): Promise<{ operatorId: string; callId: string }[]> {
    if (this.left) return [];
    const counts = [...this.sockets].flatMap(([op, n]) => [op, n]);
    return pairsOf(await this.run<string[]>('heartbeat', this.nodeId, this.o.nodeTtlMs, now, this.o.graceMs, ...counts));
  }

  /** This node shuts down: its sockets no longer count (operators get the grace period to reconnect elsewhere). */
  async leave(now = this.o.clock.nowMs()): Promise<{ operatorId: string; callId: string }[]> {
    this.left = true;
    return pairsOf(await this.run<string[]>('leave', this.nodeId, now, this.o.graceMs));
  }

  /** A Twilio status callback. `terminal` statuses end the call (abandoned if it was still waiting). */
  async callStatus(callSid: string, sequence: number | null, terminal: boolean, now = this.o.clock.nowMs()): Promise<CallStatusResult> {
    const r: string[] = await this.run('callStatus', callSid, sequence ?? -1, terminal ? 1 : 0, now, this.day(now));
    if (r[0] === 'abandoned' || r[0] === 'completed') return { outcome: r[0], callId: r[1], operatorId: r[2] || null };
    return { outcome: r[0] as 'duplicate' | 'noted' | 'unknown', callId: r[1] };
  }

  /** A socket of this operator connected to this node. Pair every call with one `operatorDisconnected`. */
  async operatorConnected(
    operatorId: string,
    name: string,
    now = this.o.clock.nowMs(),
  ): Promise<{ status: OperatorStatus; callId: string | null; reason: string | null }> {
    // Counted here before Redis hears of it, so that a heartbeat sent later includes it whatever happens to this command.
    this.sockets.set(operatorId, (this.sockets.get(operatorId) ?? 0) + 1);
    const r: (string | number)[] = await this.run('operatorConnected', operatorId, name, now, this.nodeId);
    if (Number(r[3]) === 0) await this.heartbeat(now);
    return { status: r[0] as OperatorStatus, callId: (r[1] as string) || null, reason: (r[2] as string) || null };
  }

  /** Returns the call whose offer was revoked because the operator's last socket went away. */
  async operatorDisconnected(
    operatorId: string,
    now = this.o.clock.nowMs(),
  ): Promise<{ revokedCallId: string | null; stillConnected: boolean }> {
    const n = (this.sockets.get(operatorId) ?? 0) - 1;
    if (n > 0) this.sockets.set(operatorId, n);
    else this.sockets.delete(operatorId);
    const r: string[] = await this.run('operatorDisconnected', operatorId, now, this.o.graceMs, this.nodeId);
    return { revokedCallId: r[0] === 'revoked' ? r[1] : null, stillConnected: r[0] === 'still_connected' };
  }

  async setStatus(
    operatorId: string,
    status: 'available' | 'away',
    now = this.o.clock.nowMs(),
  ): Promise<{ ok: boolean; status: OperatorStatus; revokedCallId: string | null }> {
    const r: string[] = await this.run('setStatus', operatorId, status, now);
    return { ok: r[0] === 'ok', status: r[1] as OperatorStatus, revokedCallId: r[2] || null };
  }

  async wrapUpDone(operatorId: string, callId: string, now = this.o.clock.nowMs()): Promise<'ok' | 'call_in_progress' | 'not_in_wrap_up'> {
    return this.run('wrapUpDone', operatorId, callId, now);
  }

  /**
   * A cold transfer: the operator goes to wrap-up and the call back to routing, offered at once to
   * `targetId` when they are available, else at the front of the queue.
   */
  async transferCold(
    callId: string,
    operatorId: string,
    targetId: string | null,
    now = this.o.clock.nowMs(),
  ): Promise<{ outcome: 'offered' | 'queued'; offerExpiresAt: number | null; enqueuedAt: number } | { outcome: 'not_your_call' }> {
    const [outcome, exp, enqueuedAt]: string[] = await this.run(
      'transferCold',
      callId,
      operatorId,
      targetId ?? '',
      now,
      this.o.offerTimeoutMs,
    );
    if (outcome === 'not_your_call') return { outcome };
    return { outcome: outcome as 'offered' | 'queued', offerExpiresAt: exp ? Number(exp) : null, enqueuedAt: Number(enqueuedAt) };
  }

  /** A warm transfer to another operator: takes them off the idle line while their leg rings. */
  async transferReserve(
    callId: string,
    operatorId: string,
    targetId: string,
    now = this.o.clock.nowMs(),
  ): Promise<'ok' | 'not_your_call' | 'transfer_in_progress' | 'target_unavailable'> {
    return this.run('transferReserve', callId, operatorId, targetId, now);
  }

  /** The warm transfer completes: the call is the target's; the transferring operator goes to wrap-up. */
  async transferHandover(
    callId: string,
    operatorId: string,
    external = false,
    now = this.o.clock.nowMs(),
  ): Promise<{ ok: true; targetId: string } | { ok: false; error: 'not_your_call' | 'no_transfer' | 'target_gone' }> {
    const [r, target]: string[] = await this.run('transferHandover', callId, operatorId, now, external ? 1 : 0);
    return r === 'ok' ? { ok: true, targetId: target } : { ok: false, error: r as 'not_your_call' | 'no_transfer' | 'target_gone' };
  }

  /** A warm transfer that did not happen: the target is available again. */
  async transferRelease(callId: string, targetId: string, now = this.o.clock.nowMs()): Promise<'ok' | 'ignored'> {
    return this.run('transferRelease', callId, targetId, now);
  }

  async operator(operatorId: string): Promise<OperatorState | null> {
    const [status, since, call, reason, name, conns] = await this.redis.hmget(
      this.prefix + 'op:' + operatorId,
      'status',
      'since',
      'call',
      'reason',
      'name',
      'conns',
    );
    if (!status) return null;
    return {
      status: status as OperatorStatus,
      since: Number(since),
      callId: call || null,
      reason: reason || null,
      name: name || null,
      connections: Number(conns ?? 0),
    };
  }

  async call(callId: string): Promise<CallState | null> {
    const [callSid, pseudonym, consent, enqueuedAt, state, op, expiresAt] = await this.redis.hmget(
      this.prefix + 'call:' + callId,
      'callSid',
      'pseudonym',
      'consent',
      'enqueuedAt',
      'state',
      'op',
      'expiresAt',
    );
    if (!state) return null;
    return {
      callId,
      callSid: callSid ?? '',
      pseudonym: pseudonym || null,
      recordingConsent: consent === '1',
      enqueuedAt: Number(enqueuedAt),
      state: state as CallState['state'],
      operatorId: op || null,
      offerExpiresAt: expiresAt ? Number(expiresAt) : null,
    };
  }

  async callIdForSid(callSid: string): Promise<string | null> {
    return this.redis.get(this.prefix + 'sid:' + callSid);
  }

  /** The wallboard, computed from Redis alone so every node reports the same (queue-stats.ts). */
  stats(now = this.o.clock.nowMs()): Promise<QueueStats> {
    return readQueueStats(this.redis, this.prefix, this.day(now), now);
  }

  /** Deletes every routing key under this prefix (tests and `cli` resets only). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.prefix.replace(/[{}]/g, (c) => '\\' + c) + '*', 'COUNT', 500);
      if (keys.length) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}
