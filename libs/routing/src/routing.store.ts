import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { Clock, systemClock } from '@hotline/clock';
import type { OperatorStatus, QueueStats } from '@hotline/contract';
import { RoutingScript, RoutingScriptSource, routingKeys, routingScripts } from './routing.scripts';

export const DEFAULT_ROUTING_PREFIX = 'hl:{rt}:';

export interface RoutingOptions {
  prefix?: string;
  offerTimeoutMs: number;
  /** How long a connect (Twilio REST in flight) may take before the call goes back to the queue. */
  connectTimeoutMs?: number;
  /** How long a decliner is passed over for the call they declined (unless nobody else is free). */
  declineSkipMs?: number;
  /** How long a disconnected operator keeps their state. */
  graceMs: number;
  /** This node's id: its sockets are counted under it. One per process (random by default). */
  nodeId?: string;
  /** A node that has not beaten for this long is dead and its sockets no longer count. Beat every third of it. */
  nodeTtlMs?: number;
  serviceLevelMs: number;
  timeZone: string;
  /** Where `now` comes from when a caller gives none (tests move it instead of sleeping). */
  clock?: Clock;
}

export interface QueuedCall {
  callId: string;
  callSid: string;
  /** Keyed pseudonym, or null when the number was withheld. Never a number. */
  pseudonym: string | null;
  recordingConsent: boolean;
  enqueuedAt: number;
}

export interface Offer {
  callId: string;
  operatorId: string;
  offerExpiresAt: number;
  enqueuedAt: number;
}

export type AcceptResult =
  | { ok: true; call: { callSid: string; recordingConsent: boolean; pseudonym: string | null; enqueuedAt: number } }
  | { ok: false; error: 'already_accepted' | 'taken_elsewhere' | 'caller_hung_up' | 'not_offered' };

export interface SweepEvent {
  /** `revoked`: the offer of an operator whose last socket was on a dead node; `node_gone`: a dead node's sockets were dropped. */
  kind: 'timeout' | 'connect_stale' | 'gone' | 'revoked' | 'node_gone';
  callId: string;
  operatorId: string;
  /** For `node_gone`. */
  nodeId?: string;
}

export type CallStatusResult =
  | { outcome: 'duplicate' | 'noted' | 'unknown'; callId?: string }
  | { outcome: 'abandoned' | 'completed'; callId: string; operatorId: string | null };

export interface OperatorState {
  status: OperatorStatus;
  since: number;
  callId: string | null;
  reason: string | null;
  name: string | null;
  connections: number;
}

export interface CallState {
  callId: string;
  callSid: string;
  pseudonym: string | null;
  recordingConsent: boolean;
  enqueuedAt: number;
  state: 'waiting' | 'offered' | 'connecting' | 'connected' | 'ended';
  operatorId: string | null;
  offerExpiresAt: number | null;
}

function pairsOf(flat: string[]): { operatorId: string; callId: string }[] {
  const out: { operatorId: string; callId: string }[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ operatorId: flat[i], callId: flat[i + 1] });
  return out;
}

function offersOf(flat: string[]): Offer[] {
  const offers: Offer[] = [];
  for (let i = 0; i < flat.length; i += 4)
    offers.push({ callId: flat[i], operatorId: flat[i + 1], offerExpiresAt: Number(flat[i + 2]), enqueuedAt: Number(flat[i + 3]) });
  return offers;
}

/** "YYYY-MM-DD" of an instant in a time zone: the key of that day's counters. */
export function dayKey(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

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

  /** The wallboard, computed from Redis alone so every node reports the same. */
  async stats(now = this.o.clock.nowMs()): Promise<QueueStats> {
    const P = this.prefix;
    const snap = await this.redis
      .multi()
      .zrange(P + 'live', 0, 199, 'WITHSCORES')
      .zcard(P + 'live')
      .smembers(P + 'ops')
      .hgetall(P + 'stats:' + this.day(now))
      .exec();
    if (!snap) throw new Error('stats snapshot aborted');
    for (const [err] of snap) if (err) throw err;
    const live = snap[0][1] as string[];
    const waiting = snap[1][1] as number;
    const ops = (snap[2][1] as string[]).sort();
    const day = snap[3][1] as Record<string, string>;
    const waitingCalls: NonNullable<QueueStats['waitingCalls']> = [];
    for (let i = 0; i < live.length; i += 2)
      waitingCalls.push({ callId: live[i], waitingSeconds: Math.max(0, Math.floor((now - Number(live[i + 1])) / 1000)) });
    const pipe = this.redis.pipeline();
    for (const id of ops) pipe.hmget(P + 'op:' + id, 'status', 'since', 'name');
    const rows = ops.length ? ((await pipe.exec()) ?? []) : [];
    const operators = { available: 0, offered: 0, onCall: 0, wrapUp: 0, away: 0 };
    const operatorList: NonNullable<QueueStats['operatorList']> = [];
    rows.forEach(([err, v], i) => {
      if (err) return;
      const [status, since, name] = v as (string | null)[];
      if (!status) return;
      const s = status as OperatorStatus;
      if (s === 'available') operators.available++;
      else if (s === 'offered') operators.offered++;
      else if (s === 'on_call') operators.onCall++;
      else if (s === 'wrap_up') operators.wrapUp++;
      else operators.away++;
      operatorList.push({
        id: ops[i],
        name: name || ops[i].slice(0, 8),
        status: s,
        sinceSeconds: Math.max(0, Math.floor((now - Number(since)) / 1000)),
      });
    });
    const answered = Number(day.answered ?? 0);
    const abandoned = Number(day.abandoned ?? 0);
    const inSl = Number(day.answeredInSl ?? 0);
    return {
      waiting,
      longestWaitSeconds: waitingCalls.length ? waitingCalls[0].waitingSeconds : 0,
      operators,
      answeredToday: answered,
      abandonedToday: abandoned,
      // Share of today's calls that finished waiting (answered or abandoned) answered within the level.
      serviceLevel: answered + abandoned > 0 ? inSl / (answered + abandoned) : null,
      waitingCalls,
      operatorList,
    };
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
