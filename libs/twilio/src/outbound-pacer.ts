import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type Redis from 'ioredis';
import { ENV, Env } from '@hotline/config';
import { REDIS, counter, histogram, withTimeout } from '@hotline/observability';
import { TwilioThrottled } from './twilio-client';

/**
 * Who a new outbound leg is for. `live`: someone is on the line waiting for it (an operator's leg for
 * a caller in the queue, a transfer target while the caller is on hold, a supervisor joining a call).
 * `callback`: a call placed to someone who is not on the line (a callback, a follow-up).
 */
export type OutboundPriority = 'live' | 'callback';

/** How long a leg may wait for its turn before it fails (the caller's own failure path then runs). */
export const OUTBOUND_WAIT_MS: Record<OutboundPriority, number> = { live: 10_000, callback: 15_000 };
/** After a 429 Twilio's Retry-After is honoured up to this long, then the leg is tried once more. */
export const RETRY_AFTER_MAX_MS = 5_000;
/** Slots are spaced a little wider than 1/TWILIO_CPS: the time a request takes to reach Twilio varies. */
const SPACING_MARGIN = 0.15;
const REDIS_MS = 500;
const LOG_EVERY_MS = 10_000;

/** No turn within the wait allowed: too many outbound legs for the account's calls per second. */
export class OutboundSlotUnavailable extends Error {
  readonly code = 'outbound_slot_unavailable';
  constructor(
    readonly priority: OutboundPriority,
    readonly waitedMs: number,
  ) {
    super(`no outbound call slot within ${waitedMs} ms (TWILIO_CPS)`);
    this.name = 'OutboundSlotUnavailable';
  }
}

const legs = counter(
  'hotline_twilio_outbound_legs_total',
  'Outbound legs (calls and conference participants created) by priority and outcome',
  ['priority', 'outcome'],
);
const waits = histogram(
  'hotline_twilio_outbound_wait_seconds',
  'How long outbound legs waited for their turn (TWILIO_CPS)',
  ['priority'],
  [0, 0.05, 0.25, 0.5, 1, 2, 5, 10, 15],
);

/**
 * The account's calls per second, shared by every process that dials (each gateway node and records):
 * one Redis key holds the time of the next free slot (a virtual schedule, as GCRA keeps it), moved by
 * one Lua script so that no two processes take the same slot.
 *
 * - `live`: reserves the next free slot at once and sleeps until it (first come, first served among
 *   live legs); when that slot is further away than the leg may wait, nothing is reserved and the leg
 *   fails at once.
 * - `callback`: takes a slot only when one is free now, i.e. when no live leg holds a reservation; it
 *   looks again when the reserved slots have passed. So every live leg that is waiting goes before a
 *   callback asked for at the same time, whichever process each is in.
 * - `hold`: after a 429, nobody dials before Twilio's Retry-After.
 *
 * Time is Redis's (TIME), so the processes' clocks need not agree.
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local mode = ARGV[1]
local interval = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if mode == 'hold' then
  if now + limit > tat then redis.call('SET', KEYS[1], now + limit, 'PX', limit + 60000) end
  return {1, 0}
end
local at = math.max(now, tat)
local wait = at - now
if (mode == 'callback' and wait > 0) or wait > limit then return {0, wait} end
redis.call('SET', KEYS[1], at + interval, 'PX', wait + interval + 60000)
return {1, wait}
`;

/** The spacing of outbound legs for `cps` calls per second, in ms. */
export function outboundSpacingMs(cps: number | undefined): number {
  const n = Number.isInteger(cps) && (cps as number) >= 1 ? (cps as number) : 1;
  return Math.ceil((1000 / n) * (1 + SPACING_MARGIN));
}

/**
 * Paces outbound legs to TWILIO_CPS (default 1) for the whole deployment, live calls first
 * (docs/twilio.md, "Outbound calls per second"). When Redis does not answer, each process paces its own legs
 * (a 429 is then possible across processes, and handled by {@link OutboundPacer.create}).
 */
@Injectable()
export class OutboundPacer {
  private readonly logger = new Logger(OutboundPacer.name);
  private readonly intervalMs: number;
  private readonly key: string;
  /** The next free slot of this process alone (used while Redis does not answer). */
  private localTat = 0;
  private lastWarning = 0;

  constructor(
    @Inject(ENV) env: Env,
    @Optional() @Inject(REDIS) private readonly redis?: Redis,
  ) {
    this.intervalMs = outboundSpacingMs(env.TWILIO_CPS);
    this.key = `hl:{twilio-cps}:${env.TWILIO_ACCOUNT_SID ?? 'account'}`;
  }

  get spacingMs(): number {
    return this.intervalMs;
  }

  /**
   * Creates one outbound leg (`create` makes the REST request) when its turn comes. A 429 from
   * Twilio all the same holds every process back for its Retry-After (at most
   * {@link RETRY_AFTER_MAX_MS}), then the leg waits its turn again and is tried once more; a second
   * 429 is thrown. Throws {@link OutboundSlotUnavailable} when no turn comes within `maxWaitMs`.
   * Never call this while Twilio waits for a webhook's answer: a leg may wait seconds.
   */
  async create<T>(priority: OutboundPriority, create: () => Promise<T>, maxWaitMs = OUTBOUND_WAIT_MS[priority]): Promise<T> {
    const started = Date.now();
    await this.turn(priority, maxWaitMs);
    try {
      const made = await create();
      legs.inc({ priority, outcome: 'created' });
      return made;
    } catch (e) {
      if (!(e instanceof TwilioThrottled)) {
        legs.inc({ priority, outcome: 'refused' });
        throw e;
      }
      legs.inc({ priority, outcome: 'throttled' });
      const backOff = Math.min(e.retryAfterMs, RETRY_AFTER_MAX_MS);
      this.logger.warn(`Twilio answered 429 to a new ${priority} leg; every process holds back ${backOff} ms, then it is tried once more`);
      await this.hold(backOff);
      await this.turn(priority, Math.max(backOff + this.intervalMs, maxWaitMs - (Date.now() - started)));
      const made = await create();
      legs.inc({ priority, outcome: 'created' });
      return made;
    }
  }

  /** Waits for this leg's turn; throws {@link OutboundSlotUnavailable} when it would come after `maxWaitMs`. */
  async turn(priority: OutboundPriority, maxWaitMs = OUTBOUND_WAIT_MS[priority]): Promise<void> {
    const started = Date.now();
    const deadline = started + maxWaitMs;
    for (;;) {
      const remaining = Math.max(0, deadline - Date.now());
      const r = await this.ask(priority, remaining);
      if (r.granted) {
        if (r.waitMs > 0) await sleep(r.waitMs);
        waits.observe({ priority }, (Date.now() - started) / 1000);
        return;
      }
      // A live leg was refused a reservation past its deadline; a callback's earliest turn is past it
      // (live legs can only push it further): neither can make it.
      if (priority === 'live' || r.waitMs > remaining) {
        legs.inc({ priority, outcome: 'no_slot' });
        throw new OutboundSlotUnavailable(priority, Date.now() - started);
      }
      await sleep(Math.max(5, r.waitMs));
    }
  }

  /** Nobody dials for `ms` (Twilio's Retry-After). */
  async hold(ms: number): Promise<void> {
    await this.run('hold', ms);
  }

  private async ask(priority: OutboundPriority, limitMs: number): Promise<{ granted: boolean; waitMs: number }> {
    return this.run(priority, limitMs);
  }

  private async run(mode: OutboundPriority | 'hold', limit: number): Promise<{ granted: boolean; waitMs: number }> {
    if (this.redis) {
      try {
        const r = (await withTimeout(this.redis.eval(SCRIPT, 1, this.key, mode, this.intervalMs, Math.round(limit)), REDIS_MS)) as [
          number,
          number,
        ];
        return { granted: r[0] === 1, waitMs: Number(r[1]) };
      } catch (e) {
        const now = Date.now();
        if (now - this.lastWarning > LOG_EVERY_MS) {
          this.lastWarning = now;
          this.logger.warn(`outbound legs paced by this process alone: Redis did not answer (${(e as Error).message.slice(0, 80)})`);
        }
      }
    }
    return this.local(mode, limit);
  }

  /** The same schedule as the script, for this process alone. */
  private local(mode: OutboundPriority | 'hold', limit: number): { granted: boolean; waitMs: number } {
    const now = Date.now();
    if (mode === 'hold') {
      this.localTat = Math.max(this.localTat, now + limit);
      return { granted: true, waitMs: 0 };
    }
    const at = Math.max(now, this.localTat);
    const wait = at - now;
    if ((mode === 'callback' && wait > 0) || wait > limit) return { granted: false, waitMs: wait };
    this.localTat = at + this.intervalMs;
    return { granted: true, waitMs: wait };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
