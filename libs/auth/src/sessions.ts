import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'crypto';
import type Redis from 'ioredis';
import { ENV, Env } from '@hotline/config';
import { REDIS, createRedis } from '@hotline/observability';
import { Principal } from './principal';

/** Keys share one hash tag (one slot on Redis Cluster). */
const ENDED_SESSION = (sid: string) => `hl:{auth}:ended-session:${sid}`;
const ENDED_BEFORE = (staffId: string) => `hl:{auth}:sessions-ended-before:${staffId}`;

/** What an ended session (or every session of one member of staff) looks like on the channel. */
export interface SessionsEnded {
  staffId: string;
  /** One session (signed out); absent: every session of this member issued until `before`. */
  sid?: string;
  before?: number;
  reason: 'signed_out' | 'deactivated' | 'role_changed';
}

/**
 * The channel on which ended sessions are announced to every gateway node (which disconnect the
 * sockets at once). Pub/sub ignores SELECT, so the channel carries the database number.
 */
export function sessionsChannel(db: number | undefined): string {
  return `hotline:sessions-ended:db${db ?? 0}`;
}

export function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Sessions that end before their token does. Every token carries a session id (`sid`) and the
 * moment it was issued (`iatMs`); a session is over when it was signed out (its sid is recorded as
 * ended) or when its member was deactivated or changed role after it was issued (one timestamp per
 * member). Both are kept in Redis only as long as a token could still be valid (SESSION_TTL_SECONDS),
 * checked by records on every request and by the gateway at every socket connection, and announced
 * on a channel so that every gateway node disconnects the sockets at once.
 */
@Injectable()
export class SessionRegistry implements OnModuleDestroy {
  private subscriber?: Redis;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(ENV) private readonly env: Env,
  ) {}

  private get channel(): string {
    return sessionsChannel(this.redis.options.db);
  }

  private get ttlMs(): number {
    return this.env.SESSION_TTL_SECONDS * 1000;
  }

  /** Whether the token's session is still on (Redis errors are thrown: the caller refuses, 503). */
  async isLive(p: Pick<Principal, 'id' | 'sid' | 'iatMs'>): Promise<boolean> {
    if (!p.sid) return false;
    const [ended, endedBefore] = await this.redis.mget(ENDED_SESSION(p.sid), ENDED_BEFORE(p.id));
    if (ended) return false;
    return !(endedBefore && (p.iatMs ?? 0) <= Number(endedBefore));
  }

  /** Sign-out: this session only. */
  async end(p: Pick<Principal, 'id' | 'sid'>): Promise<void> {
    if (!p.sid) return;
    await this.redis.set(ENDED_SESSION(p.sid), p.id, 'PX', this.ttlMs);
    await this.announce({ staffId: p.id, sid: p.sid, reason: 'signed_out' });
  }

  /** Deactivation or a new role: every session of this member issued until now. */
  async endAllFor(staffId: string, reason: 'deactivated' | 'role_changed', now = Date.now()): Promise<void> {
    await this.redis.set(ENDED_BEFORE(staffId), String(now), 'PX', this.ttlMs);
    await this.announce({ staffId, before: now, reason });
  }

  private async announce(e: SessionsEnded): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(e));
  }

  /** Calls `onEnded` for every ended session announced by any app (a gateway disconnects sockets). */
  async listen(onEnded: (e: SessionsEnded) => void): Promise<void> {
    this.subscriber ??= createRedis(this.env.REDIS_URL, { connectionName: 'hotline-sessions' });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let e: SessionsEnded;
      try {
        e = JSON.parse(message) as SessionsEnded;
      } catch {
        return;
      }
      onEnded(e);
    });
    await this.subscriber.subscribe(this.channel);
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
