import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { createHash, randomBytes } from 'crypto';
import { isIPv6 } from 'net';
import type Redis from 'ioredis';
import { Clock } from '@hotline/clock';
import { REDIS, withTimeout } from '@hotline/observability';

/**
 * How sign-in slows down and then locks, in three scopes, so that a stranger cannot turn it against
 * staff (docs/records.md, sign-in):
 *
 * - `pair`: one username from one client address. Past `throttleAfter` failures the next attempts
 *   wait (429 with Retry-After, doubling); attempts made while waiting count too, and at `lockAfter`
 *   that username is locked from that address only (423). The same account from another address
 *   is not affected.
 * - `account`: one username from every address together (a distributed guesser). Past
 *   `throttleAfter` failures attempts wait, the delay doubling up to `maxDelaySeconds`, and never
 *   a lock. An address from which the account signed in successfully in the last
 *   `knownAddressSeconds` is spared this delay (its own pair limits still hold there).
 * - `address`: one address, every username (a sprayer). Past `throttleAfter` failures it waits, at
 *   `lockAfter` it is locked; a username counts there at most `perUsername` times, so that it
 *   takes many different usernames (at least 8) to lock an address, and one member's bad memory
 *   cannot lock their office. A lock of an address touches no account anywhere else.
 *
 * A scope's failures are forgotten `windowSeconds` after its last failure.
 */
export const LOGIN_LIMITS = {
  windowSeconds: 15 * 60,
  pair: { throttleAfter: 5, lockAfter: 10, lockSeconds: 15 * 60, firstDelaySeconds: 30, maxDelaySeconds: 5 * 60 },
  account: { throttleAfter: 20, firstDelaySeconds: 5, maxDelaySeconds: 60 },
  address: { throttleAfter: 20, lockAfter: 40, lockSeconds: 15 * 60, firstDelaySeconds: 30, maxDelaySeconds: 5 * 60, perUsername: 5 },
  knownAddressSeconds: 30 * 24 * 60 * 60,
} as const;

export type Scope = 'pair' | 'account' | 'address';
/** An attempt allowed to check its password; it must be settled with `failed` or `succeeded`. */
export interface Attempt {
  username: string;
  address: string;
  token: string;
  counts: Record<Scope, number>;
  /** Whether the attempt counted towards its address (a username counts there at most `perUsername` times). */
  addressCounted: boolean;
}
export type Gate =
  { state: 'open'; attempt: Attempt } | { state: 'throttled' | 'locked'; scope: Scope; retryAfterSeconds: number; lockedNow: boolean };

/** In the order of the Redis keys and of the scripts' scope numbers. */
const SCOPES: Scope[] = ['pair', 'account', 'address'];

/*
 * Time is the caller's (the injected clock, ARGV `now` in ms), not Redis's, so that tests move it
 * instead of waiting out a lock. A block, a lock or a known address is `<until ms>:<tag>` and holds
 * while `until` is ahead of `now`; failures are `<count>:<window end ms>`. Their Redis TTLs only
 * clean up. A value in any other form (none is written) counts as nothing.
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
-- KEYS[3 * (scope - 1) + part], part 1: failures, 2: block (the wait), 3: lock
local function key(scope, part) return KEYS[3 * (scope - 1) + part] end
`;

/*
 * One attempt, every scope, in one step, so that parallel attempts cannot all pass the check
 * before any of them is counted. Scopes: 1 pair, 2 account, 3 address; KEYS[10]: the pair's
 * known-address mark. ARGV: token, window, then per scope throttleAfter lockAfter (0: never)
 * lockSeconds firstDelay maxDelay, then perUsername, now.
 *
 * A lock (pair or address) refuses the attempt uncounted. A wait of the pair or the address
 * counts the attempt and may turn into a lock. A wait of the account alone (not at a known
 * address) counts the attempt on the account only: a member kept waiting by a distributed guesser
 * must not lock themselves out of their own address by trying again. Otherwise the attempt is
 * counted before its password is checked, and the wait or lock its failure would bring is set
 * already, tagged with its token, so that the attempts arriving while it is being checked wait as
 * if it had failed. Success takes the tagged ones back. A wait already running (the account's, for
 * an attempt from a known address) is left as it is, so that such a success cannot lift it.
 */
const RESERVE = `${TIMED}
local token, window = ARGV[1], tonumber(ARGV[2]) * 1000
local L = {}
for i = 1, 3 do
  local b = 2 + 5 * (i - 1)
  L[i] = { throttle = tonumber(ARGV[b + 1]), lock = tonumber(ARGV[b + 2]), lockMs = tonumber(ARGV[b + 3]) * 1000,
           first = tonumber(ARGV[b + 4]), max = tonumber(ARGV[b + 5]) }
end
local perUsername = tonumber(ARGV[18])
local known = left(KEYS[10]) > 0

for _, i in ipairs({ 1, 3 }) do
  local ttl = left(key(i, 3))
  if ttl > 0 then return { 'locked', i, ttl, 0 } end
end
local blocked, blockTtl = 0, 0
for _, i in ipairs({ 1, 3, 2 }) do
  if i ~= 2 or not known then
    local ttl = left(key(i, 2))
    if ttl > 0 then blocked, blockTtl = i, ttl; break end
  end
end

local function count(i)
  local n = failures(key(i, 1)) + 1
  redis.call('SET', key(i, 1), string.format('%d:%d', n, now + window), 'PX', window)
  return n
end
if blocked == 2 then
  count(2)
  return { 'throttled', 2, blockTtl, 0 }
end
local n, counted = { count(1), count(2), 0 }, { true, true, false }
if n[1] <= perUsername then n[3], counted[3] = count(3), true else n[3] = failures(key(3, 1)) end

if blocked > 0 then
  local locked = 0
  for _, i in ipairs({ 1, 3 }) do
    if counted[i] and n[i] >= L[i].lock then
      hold(key(i, 3), '1', L[i].lockMs)
      redis.call('DEL', key(i, 1), key(i, 2))
      if locked == 0 then locked = i end
    end
  end
  if locked > 0 then return { 'locked', locked, L[locked].lockMs, 1 } end
  return { 'throttled', blocked, blockTtl, 0 }
end
for i = 1, 3 do
  if counted[i] then
    if L[i].lock > 0 and n[i] >= L[i].lock then
      hold(key(i, 3), token, L[i].lockMs)
    elseif n[i] >= L[i].throttle and left(key(i, 2)) == 0 then
      hold(key(i, 2), token, 1000 * math.floor(math.min(L[i].first * 2 ^ (n[i] - L[i].throttle), L[i].max)))
    end
  end
end
return { 'open', n[1], n[2], n[3], counted[3] and 1 or 0 }
`;

/*
 * A right password. KEYS as for RESERVE; ARGV: token, addressCounted (1/0), knownSeconds, now.
 * The pair's failures are cleared (and its wait, and a lock this attempt set); the account and the
 * address only lose this attempt's part, so one good password neither unlocks an address nor
 * lifts the wait that a distributed guesser brought on the account. The address is marked as one
 * the account signs in from.
 */
const RELEASE = `${TIMED}
local token = ARGV[1]
local function own(k)
  local v = redis.call('GET', k)
  return v and string.match(v, '^%d+:(.*)$') == token
end
redis.call('DEL', key(1, 1), key(1, 2))
if own(key(1, 3)) then redis.call('DEL', key(1, 3)) end
local scopes = { 2 }
if ARGV[2] == '1' then scopes[2] = 3 end
for _, i in ipairs(scopes) do
  for part = 2, 3 do
    if own(key(i, part)) then redis.call('DEL', key(i, part)) end
  end
  local n, untilMs = failures(key(i, 1))
  if n > 0 then redis.call('SET', key(i, 1), string.format('%d:%d', n - 1, untilMs), 'KEEPTTL') end
end
hold(KEYS[10], '1', tonumber(ARGV[3]) * 1000)
return 1
`;

// The hash tag keeps every sign-in key in one slot, so the scripts stay valid on Redis Cluster.
const PREFIX = '{hotline:login}';

/**
 * Failure counters, waits, locks and known addresses in Redis, timed by the injected clock (with
 * TTLs, so they clean themselves up). Accounts are keyed by a hash of the username as typed, known
 * or not, so that an unknown username is throttled exactly like a real one (the answer must not
 * tell whether an account exists). No account is ever locked: only a username from one address,
 * or an address.
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

  /** A right password: see RELEASE. */
  succeeded(attempt: Attempt): Promise<void> {
    return guarded(this.succeededNow(attempt));
  }

  private async reserveNow(username: string, address: string): Promise<Gate> {
    const token = randomBytes(12).toString('hex');
    const { windowSeconds, pair, account, address: addr } = LOGIN_LIMITS;
    const reply = (await this.redis.eval(
      RESERVE,
      10,
      ...this.keys(username, address),
      token,
      windowSeconds,
      ...[pair, { ...account, lockAfter: 0, lockSeconds: 0 }, addr].flatMap((l) => [
        l.throttleAfter,
        l.lockAfter,
        l.lockSeconds,
        l.firstDelaySeconds,
        l.maxDelaySeconds,
      ]),
      addr.perUsername,
      this.clock.nowMs(),
    )) as [string, number, number, number?, number?];
    if (reply[0] === 'open') {
      const counts = { pair: reply[1], account: reply[2], address: reply[3] ?? 0 };
      return { state: 'open', attempt: { username, address, token, counts, addressCounted: reply[4] === 1 } };
    }
    return {
      state: reply[0] as 'throttled' | 'locked',
      scope: SCOPES[reply[1] - 1],
      retryAfterSeconds: Math.ceil(reply[2] / 1000),
      lockedNow: reply[3] === 1,
    };
  }

  private async failedNow(attempt: Attempt): Promise<{ locked?: { scope: Scope; seconds: number } }> {
    const keys = this.keys(attempt.username, attempt.address);
    let locked: { scope: Scope; seconds: number } | undefined;
    for (const [i, scope] of [
      [0, 'pair'],
      [2, 'address'],
    ] as const) {
      const limits = LOGIN_LIMITS[scope];
      if (scope === 'address' && !attempt.addressCounted) continue;
      if (attempt.counts[scope] < limits.lockAfter) continue;
      await this.redis.del(keys[3 * i], keys[3 * i + 1]);
      locked ??= { scope, seconds: limits.lockSeconds };
    }
    return { locked };
  }

  private async succeededNow(attempt: Attempt): Promise<void> {
    await this.redis.eval(
      RELEASE,
      10,
      ...this.keys(attempt.username, attempt.address),
      attempt.token,
      attempt.addressCounted ? 1 : 0,
      LOGIN_LIMITS.knownAddressSeconds,
      this.clock.nowMs(),
    );
  }

  /** Per scope (pair, account, address): failures, block, lock; then the pair's known-address mark. */
  private keys(username: string, clientAddress: string): string[] {
    const account = createHash('sha256').update(username.trim().toLowerCase()).digest('hex').slice(0, 32);
    const address = addressScope(clientAddress);
    const scoped = (s: string) => [`${PREFIX}:${s}:fails`, `${PREFIX}:${s}:block`, `${PREFIX}:${s}:lock`];
    return [
      ...scoped(`pair:${account}:${address}`),
      ...scoped(`account:${account}`),
      ...scoped(`address:${address}`),
      `${PREFIX}:known:${account}:${address}`,
    ];
  }
}

/**
 * The address a failure counts against: an IPv4 address as it is, an IPv6 address by its /64,
 * which one subscriber usually holds whole, so that walking through it does not give a guesser
 * fresh addresses. An IPv4-mapped address (`::ffff:192.0.2.1`, as a dual-stack listener writes an
 * IPv4 client) is the IPv4 address it carries, so it counts on its own, never by /64; it is kept in
 * the form the listener wrote it. Anything else as it is.
 */
export function addressScope(address: string): string {
  const bare = address.trim().replace(/%.*$/, '').toLowerCase();
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/.test(bare)) return bare;
  if (!isIPv6(bare)) return bare;
  let text = bare;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

async function guarded<T>(p: Promise<T>): Promise<T> {
  try {
    return await withTimeout(p, 2000);
  } catch {
    throw new ServiceUnavailableException('sign-in is unavailable for a moment (its safeguards cannot be checked); try again shortly');
  }
}
