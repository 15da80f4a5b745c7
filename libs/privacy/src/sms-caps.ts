import { createHash, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import type Redis from 'ioredis';
import { Clock } from '@hotline/clock';
import type { Env } from '@hotline/config';
import { SMS_CAPS, SmsCap } from '@hotline/contract';
import { withTimeout } from '@hotline/observability';
import { callingCode } from './calling-code';

/** The window every cap counts over. */
export const SMS_CAP_WINDOW_MS = 60 * 60 * 1000;

export interface SmsCapLimits {
  /** Verification SMS one number may be sent per window. */
  perNumber: number;
  /** ... to one country calling code. */
  perCountry: number;
  /** ... in all. */
  total: number;
}

export function smsCapLimits(env: Env): SmsCapLimits {
  return {
    perNumber: env.PRIVACY_SMS_PER_NUMBER_PER_HOUR,
    perCountry: env.PRIVACY_SMS_PER_COUNTRY_PER_HOUR,
    total: env.PRIVACY_SMS_PER_HOUR,
  };
}

/** `alert`: this refusal is the first at that cap (and number or country) in the window, so supervisors are told. */
export type SmsCapCheck = { ok: true } | { ok: false; cap: SmsCap; alert: boolean };

/** All keys share the hash tag `{privacy-sms}`: one script's keys in one slot (ready for Redis Cluster). */
const PREFIX = 'hl:{privacy-sms}';
const COMMAND = 'hotlinePrivacySmsCap';
const LUA = readFileSync(join(__dirname, 'lua', 'sms-caps.lua'), 'utf8');
const REDIS_MS = 2000;

/**
 * Caps on the privacy line's verification SMS, each over a sliding hour: per number (whoever
 * spoofs a caller ID cannot flood that phone), per country calling code and in all (SMS pumping:
 * many numbers, often premium ranges of one country). Counted in Redis by the app's clock; one
 * Lua script checks and takes all three at once, so concurrent calls cannot overshoot.
 *
 * A number's window is keyed by a hash of its pseudonym (neither the number nor the pseudonym is
 * written to Redis here); a country's by its calling code (`callingCode`).
 */
export class SmsCaps {
  constructor(
    private readonly redis: Redis,
    private readonly limits: SmsCapLimits,
    private readonly clock: Clock,
  ) {
    if (!(redis as unknown as Record<string, unknown>)[COMMAND]) redis.defineCommand(COMMAND, { numberOfKeys: 6, lua: LUA });
  }

  /** Takes one SMS to `e164` (whose pseudonym is `pseudonym`) from every cap, or refuses it at the first cap that is full. */
  async take(pseudonym: string, e164: string): Promise<SmsCapCheck> {
    const number = createHash('sha256').update(`hotline:privacy-sms:${pseudonym}`).digest('hex').slice(0, 32);
    const keys = [`number:${number}`, `country:${callingCode(e164) ?? 'other'}`, 'total'].map((k) => `${PREFIX}:${k}`);
    const alerted = keys.map((k) => k.replace(`${PREFIX}:`, `${PREFIX}:alerted:`));
    const run = (this.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<[number, number]>>)[COMMAND];
    const [i, alert] = await withTimeout(
      run.call(
        this.redis,
        ...keys,
        ...alerted,
        this.clock.nowMs(),
        SMS_CAP_WINDOW_MS,
        this.limits.perNumber,
        this.limits.perCountry,
        this.limits.total,
        randomUUID(),
      ),
      REDIS_MS,
    );
    return i === 0 ? { ok: true } : { ok: false, cap: SMS_CAPS[i - 1], alert: alert === 1 };
  }
}
