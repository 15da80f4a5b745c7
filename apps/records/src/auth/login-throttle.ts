import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { createHash, randomBytes } from 'crypto';
import type Redis from 'ioredis';
import { Clock } from '@hotline/clock';
import { REDIS, withTimeout } from '@hotline/observability';

/**
 * How sign-in slows down and then locks. Each scope counts failures in a sliding window; past
 * `throttleAfter` the next attempts must wait (429 with Retry-After, growing), and attempts made
 * while throttled count too, so that hammering reaches `lockAfter` and a lock (423).
 * An address gets more room than an account: several staff may share one office address.
 */
export const LOGIN_LIMITS = {
  windowSeconds: 15 * 60,
  account: { throttleAfter: 5, lockAfter: 10, lockSeconds: 15 * 60 },
  address: { throttleAfter: 20, lockAfter: 40, lockSeconds: 15 * 60 },
  firstDelaySeconds: 30,
  maxDelaySeconds: 300,
} as const;

export type Scope = 'account' | 'address';
/** An attempt allowed to check its password; it must be settled with `failed` or `succeeded`. */
export interface Attempt {
  username: string;
  address: string;
  token: string;
  counts: Record<Scope, number>;
}
export type Gate =
  { state: 'open'; attempt: Attempt } | { state: 'throttled' | 'locked'; scope: Scope; retryAfterSeconds: number; lockedNow: boolean };

const SCOPES: Scope[] = ['account', 'address'];

/*
 * Time is the caller's (the injected clock, ARGV `now` in ms), not Redis's, so that tests move it
 * instead of waiting out a lock. A block or a lock is `<until ms>:<token>` and holds while `until`
 * is ahead of `now`; failures are `<count>:<window end ms>`. Their Redis TTLs only clean up.
 * A value in any other form (none is written) counts as nothing.
 */
const TIMED = `
local now = tonumber(ARGV[#ARGV])
local function left(key)
  local v = redis.call('GET', key)
  local untilMs = v and tonumber(string.match(v, '^(%d+):'))
  if not untilMs or untilMs <= now then return 0 end
  return untilMs - now
end
local function hold(key, tag, ms)
  redis.call('SET', key, string.format('%d:%s', now + ms, tag), 'PX', ms)
end
local function failures(key)
  local v = redis.call('GET', key)
  local n, untilMs
  if v then n, untilMs = string.match(v, '^(%d+):(%d+)$') end
  n, untilMs = tonumber(n) or 0, tonumber(untilMs) or 0
  if untilMs <= now then return 0, 0 end
  return n, untilMs
end
`;

/*
 * One attempt, both scopes, in one step, so that parallel attempts cannot all pass the check
 * before any of them is counted. KEYS: fails, block, lock of the account, then of the address.
 * A lock stops the attempt uncounted; a block (throttle) counts it and may turn into a lock;
 * otherwise the attempt is counted before its password is checked, and the block or lock its
 * failure would bring is set already, tagged with its token, so that the attempts arriving while
 * it is being checked wait as if it had failed. Success takes the tagged ones back.
 * ARGV: token window firstDelay maxDelay, the account's then the address's limits, now.
 */
const RESERVE = `${TIMED}
local token, window, firstDelay, maxDelay = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local limits = { { tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]) }, { tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]) } }
for i = 1, 2 do
  local ttl = left(KEYS[3 * i])
  if ttl > 0 then return { 'locked', i, ttl, 0 } end
end
local blocked, blockTtl = 0, 0
for i = 1, 2 do
  local ttl = left(KEYS[3 * i - 1])
  if ttl > 0 then blocked, blockTtl = i, ttl; break end
end
local counts = {}
for i = 1, 2 do
  counts[i] = failures(KEYS[3 * i - 2]) + 1
  redis.call('SET', KEYS[3 * i - 2], string.format('%d:%d', counts[i], now + window * 1000), 'PX', window * 1000)
end
if blocked > 0 then
  local locked = 0
  for i = 1, 2 do
    if counts[i] >= limits[i][2] then
      hold(KEYS[3 * i], '1', limits[i][3] * 1000)
      redis.call('DEL', KEYS[3 * i - 2], KEYS[3 * i - 1])
      if locked == 0 then locked = i end
    end
  end
  if locked > 0 then return { 'locked', locked, limits[locked][3] * 1000, 1 } end
  return { 'throttled', blocked, blockTtl, 0 }
end
for i = 1, 2 do
  local n, throttleAfter, lockAfter = counts[i], limits[i][1], limits[i][2]
  if n >= lockAfter then
    hold(KEYS[3 * i], token, limits[i][3] * 1000)
  elseif n >= throttleAfter then
    hold(KEYS[3 * i - 1], token, 1000 * math.floor(math.min(firstDelay * 2 ^ (n - throttleAfter), maxDelay)))
  end
end
return { 'open', counts[1], counts[2] }
`;

/**
 * KEYS: fails, block, lock of the address; ARGV: token, now. An address's count is not reset by
 * one good password, only this attempt's part of it.
 */
const RELEASE = `${TIMED}
for k = 2, 3 do
  local v = redis.call('GET', KEYS[k])
  if v and string.match(v, '^%d+:(.*)$') == ARGV[1] then redis.call('DEL', KEYS[k]) end
end
local n, untilMs = failures(KEYS[1])
if n > 0 then redis.call('SET', KEYS[1], string.format('%d:%d', n - 1, untilMs), 'KEEPTTL') end
return 1
`;

// The hash tag keeps every sign-in key in one slot, so the scripts stay valid on Redis Cluster.
const PREFIX = '{hotline:login}';

/**
 * Failure counters, delays and locks in Redis, timed by the injected clock (with TTLs, so they clean themselves up). Accounts
 * are keyed by a hash of the username as typed, known or not, so that an unknown username is
 * throttled exactly like a real one (the answer must not tell whether an account exists). A
 * known account's lock is also written to `staff.locked_until` by the login service.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly clock: Clock,
  ) {}

  /**
   * Without its counters sign-in cannot be throttled, so it is refused (503) rather than left open
   * to guessing, and it answers at once rather than hanging until Redis is back.
   */
  reserve(username: string, address: string): Promise<Gate> {
    return guarded(this.reserveNow(username, address));
  }

  /** The attempt's password was wrong: it stays counted, and a lock it reached stands. */
  failed(attempt: Attempt): Promise<{ locked?: { scope: Scope; seconds: number } }> {
    return guarded(this.failedNow(attempt));
  }

  /** A successful sign-in clears the account's counters (not the address's: one good password must not unlock an address). */
  succeeded(attempt: Attempt): Promise<void> {
    return guarded(this.succeededNow(attempt));
  }

  private async reserveNow(username: string, address: string): Promise<Gate> {
    const token = randomBytes(12).toString('hex');
    const { windowSeconds, firstDelaySeconds, maxDelaySeconds, account, address: addr } = LOGIN_LIMITS;
    const reply = (await this.redis.eval(
      RESERVE,
      6,
      ...this.keys('account', username),
      ...this.keys('address', address),
      token,
      windowSeconds,
      firstDelaySeconds,
      maxDelaySeconds,
      account.throttleAfter,
      account.lockAfter,
      account.lockSeconds,
      addr.throttleAfter,
      addr.lockAfter,
      addr.lockSeconds,
      this.clock.nowMs(),
    )) as [string, number, number, number?];
    if (reply[0] === 'open')
      return { state: 'open', attempt: { username, address, token, counts: { account: reply[1], address: reply[2] } } };
    return {
      state: reply[0] as 'throttled' | 'locked',
      scope: SCOPES[reply[1] - 1],
      retryAfterSeconds: Math.ceil(reply[2] / 1000),
      lockedNow: reply[3] === 1,
    };
  }

  private async failedNow(attempt: Attempt): Promise<{ locked?: { scope: Scope; seconds: number } }> {
    let locked: { scope: Scope; seconds: number } | undefined;
    for (const scope of SCOPES) {
      const limits = LOGIN_LIMITS[scope];
      if (attempt.counts[scope] < limits.lockAfter) continue;
      const [fails, block] = this.keys(scope, scope === 'account' ? attempt.username : attempt.address);
      await this.redis.del(fails, block);
      locked ??= { scope, seconds: limits.lockSeconds };
    }
    return { locked };
  }

  private async succeededNow(attempt: Attempt): Promise<void> {
    await this.redis.del(...this.keys('account', attempt.username));
    await this.redis.eval(RELEASE, 3, ...this.keys('address', attempt.address), attempt.token, this.clock.nowMs());
  }

  /** fails, block, lock */
  private keys(scope: Scope, id: string): [string, string, string] {
    const subject = scope === 'account' ? createHash('sha256').update(id.trim().toLowerCase()).digest('hex').slice(0, 32) : id;
    return [`${PREFIX}:${scope}:${subject}:fails`, `${PREFIX}:${scope}:${subject}:block`, `${PREFIX}:${scope}:${subject}:lock`];
  }
}

async function guarded<T>(p: Promise<T>): Promise<T> {
  try {
    return await withTimeout(p, 2000);
  } catch {
    throw new ServiceUnavailableException('sign-in is unavailable for a moment (its safeguards cannot be checked); try again shortly');
  }
}
