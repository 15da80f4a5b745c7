import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { createHash } from 'crypto';
import type Redis from 'ioredis';
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
export type Gate = { state: 'open' } | { state: 'throttled' | 'locked'; scope: Scope; retryAfterSeconds: number };

const PREFIX = 'hotline:login';

/**
 * Failure counters, delays and locks in Redis (with TTLs, so they clean themselves up). Accounts
 * are keyed by a hash of the username as typed, known or not, so that an unknown username is
 * throttled exactly like a real one (the answer must not tell whether an account exists). A
 * known account's lock is also written to `staff.locked_until` by the login service.
 */
@Injectable()
export class LoginThrottle {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /**
   * Without its counters sign-in cannot be throttled, so it is refused (503) rather than left open
   * to guessing, and it answers at once rather than hanging until Redis is back.
   */
  gate(username: string, address: string): Promise<Gate> {
    return guarded(this.gateNow(username, address));
  }

  fail(username: string, address: string, extendDelay = true): Promise<{ locked?: { scope: Scope; seconds: number } }> {
    return guarded(this.failNow(username, address, extendDelay));
  }

  succeed(username: string): Promise<void> {
    return guarded(this.succeedNow(username));
  }

  private async gateNow(username: string, address: string): Promise<Gate> {
    const keys = [this.key('account', username, 'lock'), this.key('address', address, 'lock'), this.key('account', username, 'block'), this.key('address', address, 'block')];
    const ttls = await Promise.all(keys.map((k) => this.redis.pttl(k)));
    const states: [Gate['state'], Scope][] = [['locked', 'account'], ['locked', 'address'], ['throttled', 'account'], ['throttled', 'address']];
    for (let i = 0; i < keys.length; i++) {
      if (ttls[i] > 0) return { state: states[i][0] as 'locked' | 'throttled', scope: states[i][1], retryAfterSeconds: Math.ceil(ttls[i] / 1000) };
    }
    return { state: 'open' };
  }

  /**
   * Counts a failed (or refused) attempt in both scopes and returns what it led to: a lock, a
   * throttle for the next attempts, or nothing yet. `extendDelay` is false for attempts refused
   * while throttled: they count towards the lock but do not push the wait further out.
   */
  private async failNow(username: string, address: string, extendDelay: boolean): Promise<{ locked?: { scope: Scope; seconds: number } }> {
    let locked: { scope: Scope; seconds: number } | undefined;
    for (const [scope, id] of [['account', username], ['address', address]] as [Scope, string][]) {
      const limits = LOGIN_LIMITS[scope];
      const fails = this.key(scope, id, 'fails');
      const replies = await this.redis.multi().incr(fails).expire(fails, LOGIN_LIMITS.windowSeconds).exec();
      const n = Number(replies?.[0]?.[1]);
      if (n >= limits.lockAfter) {
        await this.redis.multi().set(this.key(scope, id, 'lock'), '1', 'EX', limits.lockSeconds).del(fails, this.key(scope, id, 'block')).exec();
        locked ??= { scope, seconds: limits.lockSeconds };
      } else if (n >= limits.throttleAfter && extendDelay) {
        const delay = Math.min(LOGIN_LIMITS.firstDelaySeconds * 2 ** (n - limits.throttleAfter), LOGIN_LIMITS.maxDelaySeconds);
        await this.redis.set(this.key(scope, id, 'block'), '1', 'EX', delay);
      }
    }
    return { locked };
  }

  /** A successful sign-in clears the account's counters (not the address's: one good password must not unlock an address). */
  private async succeedNow(username: string): Promise<void> {
    await this.redis.del(this.key('account', username, 'fails'), this.key('account', username, 'block'), this.key('account', username, 'lock'));
  }

  private key(scope: Scope, id: string, kind: 'fails' | 'block' | 'lock'): string {
    const subject = scope === 'account' ? createHash('sha256').update(id.trim().toLowerCase()).digest('hex').slice(0, 32) : id;
    return `${PREFIX}:${scope}:${subject}:${kind}`;
  }
}

async function guarded<T>(p: Promise<T>): Promise<T> {
  try {
    return await withTimeout(p, 2000);
  } catch {
    throw new ServiceUnavailableException('sign-in is unavailable for a moment (its safeguards cannot be checked); try again shortly');
  }
}
