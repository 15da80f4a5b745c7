import type Redis from 'ioredis';
import { DEFAULT_ROUTING_PREFIX } from './routing.store';

/** The caller-ID location Twilio sends with a call's webhooks (from the number's registration, not GPS). */
export interface CallerLocation {
  city: string | null;
  state: string | null;
  zip: string | null;
  country: string | null;
}

const FIELDS = ['city', 'state', 'zip', 'country'] as const;
/** A backstop: the key is deleted when the call ends; no live call lasts this long. */
const LIVE_CALL_TTL_SECONDS = 6 * 3600;

/**
 * The live call's caller-ID location, kept in the routing state only while the call lasts (for an
 * active rescue: records reads it after a supervisor's approval), deleted when the call ends. Never
 * written to MySQL, a job or a log. Same hash tag as routing (one slot in Redis Cluster).
 */
export class CallerLocations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = DEFAULT_ROUTING_PREFIX,
  ) {}

  private key(callId: string): string {
    return `${this.prefix}loc:${callId}`;
  }

  /** Keeps what Twilio sent (FromCity, FromState, FromZip, FromCountry), if anything. */
  async keep(callId: string, params: Record<string, unknown>): Promise<void> {
    const pick = (k: string) => (typeof params[k] === 'string' ? (params[k] as string).slice(0, 64) : '');
    const values = { city: pick('FromCity'), state: pick('FromState'), zip: pick('FromZip'), country: pick('FromCountry') };
    if (!Object.values(values).some(Boolean)) return;
    await this.redis.multi().hset(this.key(callId), values).expire(this.key(callId), LIVE_CALL_TTL_SECONDS).exec();
  }

  async read(callId: string): Promise<CallerLocation | null> {
    const v = await this.redis.hmget(this.key(callId), ...FIELDS);
    if (!v.some(Boolean)) return null;
    return { city: v[0] || null, state: v[1] || null, zip: v[2] || null, country: v[3] || null };
  }

  /** The call ended: the location goes. */
  async forget(callId: string): Promise<void> {
    await this.redis.del(this.key(callId));
  }
}

/** How many callers wait live in the queue now (the routing state's `live` set): callbacks may wait for them. */
export async function liveCallersWaiting(redis: Redis, prefix = DEFAULT_ROUTING_PREFIX): Promise<number> {
  return redis.zcard(`${prefix}live`);
}
