import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS, withTimeout } from '@hotline/observability';
import type { PrivacyIntent } from '@hotline/privacy';

export type { PrivacyIntent };

/** Where one privacy-line call has got to. Pseudonym only: never the number, never the code. */
export interface PrivacySession {
  pseudonym: string;
  intent?: PrivacyIntent;
  /** The caller entered the right code on this call. */
  verified?: boolean;
}

const KEY = (callSid: string) => `hl:privacy:call:${callSid}`;
/** Longer than a code lives (10 minutes), shorter than anyone stays on the privacy line. */
const TTL_SECONDS = 30 * 60;
const REDIS_MS = 2000;

/** Per-call state of the privacy line in Redis, keyed by CallSid, so any gateway node can take the next step. */
@Injectable()
export class PrivacySessions {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async get(callSid: string): Promise<PrivacySession | null> {
    const raw = await withTimeout(this.redis.get(KEY(callSid)), REDIS_MS);
    return raw ? (JSON.parse(raw) as PrivacySession) : null;
  }

  async save(callSid: string, s: PrivacySession): Promise<void> {
    await withTimeout(this.redis.set(KEY(callSid), JSON.stringify(s), 'EX', TTL_SECONDS), REDIS_MS);
  }

  async end(callSid: string): Promise<void> {
    await withTimeout(this.redis.del(KEY(callSid)), REDIS_MS);
  }
}
