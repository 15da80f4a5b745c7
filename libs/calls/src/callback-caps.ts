import { createHash, randomUUID } from 'crypto';
import type Redis from 'ioredis';
import type { Clock } from '@hotline/clock';
import type { CallbackCap, CallbackCapAlert, CallbackCapStage } from '@hotline/contract';
import { withTimeout } from '@hotline/observability';

/** How far back each cap counts: a number's callbacks over a day, the line's over an hour. */
export const CALLBACK_NUMBER_WINDOW_MS = 24 * 3600_000;
export const CALLBACK_LINE_WINDOW_MS = 3600_000;

export interface CallbackCapLimits {
  /** Callbacks one number may book (stage booking), or be called back for (stage dialling), in a sliding day. */
  perNumberPerDay: number;
  /** Callbacks booked (booking), or outbound callback calls placed (dialling), across the line in a sliding hour. */
  perHour: number;
}

/** `alert`: this refusal is the first at that cap (and number, or the line) in its window: the wallboard is told. */
export type CallbackCapCheck = { ok: true } | { ok: false; cap: CallbackCap; alert: boolean };

/** Every key shares the hash tag `{callback-caps}`: one script's keys in one slot (ready for Redis Cluster). */
export const CALLBACK_CAPS_PREFIX = 'hl:{callback-caps}';
const REFUSALS_KEY = `${CALLBACK_CAPS_PREFIX}:refusals`;
const COMMAND = 'hotlineCallbackCap';
const REDIS_MS = 2000;

/**
 * Takes one callback from both caps at once, or none. Each window is a sorted set scored by the app's
 * clock (tests move time); only entries inside the window and not ahead of now count. The number's
 * window holds callbacks (a callback dialled again is not another one); the line's, bookings or
 * placed calls. A refusal is kept in a day-long log (the wallboard's counts) and asks for an alert
 * when that cap's key has had none within its window.
 * KEYS: number line numberAlerted lineAlerted refusals
 * ARGV: nowMs numberSince lineSince perNumber perLine numberMember lineMember stage refusalId
 * Returns {0, 0} when taken; {1 number | 2 line, alert} when refused.
 */
const LUA = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
local known = redis.call('ZSCORE', KEYS[1], ARGV[6])
local refused = 0
if not known and redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], ARGV[1]) >= tonumber(ARGV[4]) then
  refused = 1
elseif redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[3], ARGV[1]) >= tonumber(ARGV[5]) then
  refused = 2
end
if refused > 0 then
  local since = tonumber(ARGV[1 + refused])
  local cap = 'number'
  if refused == 2 then cap = 'line' end
  redis.call('ZADD', KEYS[5], ARGV[1], ARGV[8] .. ':' .. cap .. ':' .. ARGV[9])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[2])
  redis.call('PEXPIRE', KEYS[5], ${CALLBACK_NUMBER_WINDOW_MS})
  local last = tonumber(redis.call('GET', KEYS[2 + refused]) or '')
  if last == nil or last <= since or last > now then
    redis.call('SET', KEYS[2 + refused], ARGV[1], 'PX', now - since)
    return {refused, 1}
  end
  return {refused, 0}
end
if not known then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], ${CALLBACK_NUMBER_WINDOW_MS})
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ${CALLBACK_LINE_WINDOW_MS})
return {0, 0}
`;

/**
 * Caps on callbacks (issue 24), against whoever books callbacks from a spoofed caller ID again and
 * again to run up the service's call charges: per number per day and for the whole line per hour,
 * where the gateway books one (stage `booking`) and again where records places its call (stage
 * `dialling`). Counted in Redis, one Lua script checking and taking both caps at once, so concurrent
 * requests cannot overshoot; like the privacy line's SMS caps (libs/privacy sms-caps).
 *
 * A number's window is keyed by a hash of its pseudonym: neither the number nor the pseudonym is
 * written to Redis, a log line or an alert.
 */
export class CallbackCaps {
  constructor(
    private readonly redis: Redis,
    private readonly limits: CallbackCapLimits,
    private readonly clock: Clock,
  ) {
    if (!(redis as unknown as Record<string, unknown>)[COMMAND]) redis.defineCommand(COMMAND, { numberOfKeys: 5, lua: LUA });
  }

  /**
   * Takes one callback (`callbackId`) of the number whose pseudonym is `pseudonym` from both caps of
   * `stage`, or refuses it at the first cap that is full. `lineMember`: what the line's window counts
   * (default the callback: one booking; records passes each attempt's id, every call placed counts).
   */
  async take(stage: CallbackCapStage, pseudonym: string, callbackId: string, lineMember = callbackId): Promise<CallbackCapCheck> {
    const numberKey = createHash('sha256').update(`hotline:callback-cap:${pseudonym}`).digest('hex').slice(0, 32);
    const keys = [
      `${CALLBACK_CAPS_PREFIX}:${stage}:number:${numberKey}`,
      `${CALLBACK_CAPS_PREFIX}:${stage}:line`,
      `${CALLBACK_CAPS_PREFIX}:${stage}:alerted:number:${numberKey}`,
      `${CALLBACK_CAPS_PREFIX}:${stage}:alerted:line`,
      REFUSALS_KEY,
    ];
    const now = this.clock.nowMs();
    const run = (this.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<[number, number]>>)[COMMAND];
    const [i, alert] = await withTimeout(
      run.call(
        this.redis,
        ...keys,
        now,
        now - CALLBACK_NUMBER_WINDOW_MS,
        now - CALLBACK_LINE_WINDOW_MS,
        this.limits.perNumberPerDay,
        this.limits.perHour,
        callbackId,
        lineMember,
        stage,
        randomUUID(),
      ),
      REDIS_MS,
    );
    return i === 0 ? { ok: true } : { ok: false, cap: i === 1 ? 'number' : 'line', alert: alert === 1 };
  }

  /** Refusals at each cap since `sinceMs` (app clock), for the wallboard: counts only, never whose. */
  async refusalsSince(sinceMs: number): Promise<{ stage: CallbackCapStage; cap: CallbackCap; count: number }[]> {
    const members = await withTimeout(this.redis.zrangebyscore(REFUSALS_KEY, `(${sinceMs}`, this.clock.nowMs()), REDIS_MS);
    const counts = new Map<string, number>();
    for (const m of members) {
      const [stage, cap] = m.split(':');
      counts.set(`${stage}:${cap}`, (counts.get(`${stage}:${cap}`) ?? 0) + 1);
    }
    return [...counts].map(([k, count]) => {
      const [stage, cap] = k.split(':') as [CallbackCapStage, CallbackCap];
      return { stage, cap, count };
    });
  }
}

/**
 * The channel on which records tells the gateways that a cap refused a callback's call (the gateway
 * alerts the wallboard itself when it refuses a booking). Like the alerts channel, per Redis database:
 * pub/sub ignores SELECT.
 */
export function callbackCapChannel(db: number | undefined): string {
  return `hotline:callback-caps:db${db ?? 0}`;
}

/** What records publishes on callbackCapChannel: the alert and an id (one gateway relays it). */
export interface CallbackCapMessage extends CallbackCapAlert {
  id: string;
}

/** Publishes a cap's alert for the gateways to relay to the wallboard. Best effort: false when Redis did not take it. */
export async function publishCallbackCapAlert(redis: Redis, alert: CallbackCapAlert): Promise<boolean> {
  const message: CallbackCapMessage = { id: randomUUID(), ...alert };
  return withTimeout(redis.publish(callbackCapChannel(redis.options.db), JSON.stringify(message)), REDIS_MS).then(
    () => true,
    () => false,
  );
}
