import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { randomBytes } from 'crypto';
import type Redis from 'ioredis';
import { Clock, systemClock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import type { SessionEndedReason } from '@hotline/contract';
import { REDIS, createRedis } from '@hotline/observability';
import { Principal } from './principal';

/** Keys share one hash tag (one slot on Redis Cluster). */
const ENDED_SESSION = (sid: string) => `hl:{auth}:ended-session:${sid}`;
const ENDED_BEFORE = (staffId: string) => `hl:{auth}:sessions-ended-before:${staffId}`;
/** The sessions a member started by signing in (sid -> SessionInfo JSON), for them to see and end. */
const SESSIONS_OF = (staffId: string) => `hl:{auth}:sessions:${staffId}`;
/** When a session last made a request (ms, the injected clock): the server-side idle limit. */
const LAST_SEEN = (sid: string) => `hl:{auth}:seen:${sid}`;
/** The highest agreement version the member accepted (written by records on acceptance and at sign-in). */
const AGREED = (staffId: string) => `hl:{auth}:agreed:${staffId}`;

/** Why every session of a member ended at once. */
export type AllSessionsEndedReason = Extract<
  SessionEndedReason,
  'deactivated' | 'role_changed' | 'password_changed' | 'password_reset' | 'factor_reset'
>;

/** One signed-in session, as its member sees it in their list. */
export interface SessionInfo {
  sid: string;
  startedAt: string;
  /** The client address it signed in from (staff only; never a caller's). */
  address: string;
  userAgent: string | null;
  lastSeenAt: string | null;
}

/** What one request needs to know about its session, in one round trip. */
export interface SessionState {
  /** live; ended (signed out, deactivated, ...); idle (no request for SESSION_IDLE_SECONDS). */
  state: 'live' | 'ended' | 'idle';
  /** The highest agreement version this member accepted, as far as Redis knows (null: none). */
  agreed: string | null;
}

/** What an ended session (or every session of one member of staff) looks like on the channel. */
export interface SessionsEnded {
  staffId: string;
  /** One session (signed out); absent: every session of this member issued until `before`. */
  sid?: string;
  before?: number;
  reason: 'signed_out' | 'idle' | AllSessionsEndedReason;
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
    @Optional() private readonly clock: Clock = systemClock,
  ) {}

  private get channel(): string {
    return sessionsChannel(this.redis.options.db);
  }

  private get ttlMs(): number {
    return this.env.SESSION_TTL_SECONDS * 1000;
  }

  private get idleMs(): number {
    return this.env.SESSION_IDLE_SECONDS * 1000;
  }

  /** Whether the token's session is still on (Redis errors are thrown: the caller refuses, 503). */
  async isLive(p: Pick<Principal, 'id' | 'sid' | 'iatMs'>): Promise<boolean> {
    return (await this.check(p)).state === 'live';
  }

  /**
   * The session's state and its member's accepted agreement version, in one round trip. A session
   * started by signing in (`started`) carries a last-seen time: past SESSION_IDLE_SECONDS without a
   * request it is over (and is ended for good, announced, so consoles close too). A token minted
   * without signing in (tests' factories) has no last-seen time and no idle limit.
   */
  async check(p: Pick<Principal, 'id' | 'sid' | 'iatMs'>): Promise<SessionState> {
    if (!p.sid) return { state: 'ended', agreed: null };
    const [ended, endedBefore, seen, agreed] = await this.redis.mget(
      ENDED_SESSION(p.sid),
      ENDED_BEFORE(p.id),
      LAST_SEEN(p.sid),
      AGREED(p.id),
    );
    if (ended) return { state: 'ended', agreed };
    if (endedBefore && (p.iatMs ?? 0) <= Number(endedBefore)) return { state: 'ended', agreed };
    if (seen && this.clock.nowMs() - Number(seen) > this.idleMs) {
      await this.end({ id: p.id, sid: p.sid }, 'idle');
      return { state: 'idle', agreed };
    }
    return { state: 'live', agreed };
  }

  /** A session begun by signing in: listed for its member, and held to the idle limit from now. */
  async started(p: Pick<Principal, 'id' | 'sid' | 'iatMs'>, info: { address: string; userAgent?: string }): Promise<void> {
    if (!p.sid) return;
    const now = this.clock.nowMs();
    const entry = {
      startedAt: new Date(now).toISOString(),
      iatMs: p.iatMs ?? now,
      address: info.address,
      userAgent: info.userAgent?.slice(0, 200) ?? null,
    };
    await this.redis
      .multi()
      .hset(SESSIONS_OF(p.id), p.sid, JSON.stringify(entry))
      .pexpire(SESSIONS_OF(p.id), this.ttlMs)
      .set(LAST_SEEN(p.sid), String(now), 'PX', this.ttlMs)
      .exec();
  }

  /** A request (or a console event) on a session: it is not idle. Only sessions begun by signing in are touched. */
  async touch(sids: string[]): Promise<void> {
    if (!sids.length) return;
    const now = String(this.clock.nowMs());
    const pipe = this.redis.pipeline();
    for (const sid of sids) pipe.set(LAST_SEEN(sid), now, 'PX', this.ttlMs, 'XX');
    await pipe.exec();
  }

  /** The member's live sessions, newest first (ended ones are dropped from the list). */
  async list(staffId: string): Promise<SessionInfo[]> {
    const all = await this.redis.hgetall(SESSIONS_OF(staffId));
    const out: SessionInfo[] = [];
    const dead: string[] = [];
    for (const [sid, json] of Object.entries(all)) {
      let e: { startedAt: string; iatMs: number; address: string; userAgent: string | null };
      try {
        e = JSON.parse(json);
      } catch {
        dead.push(sid);
        continue;
      }
      const state = await this.check({ id: staffId, sid, iatMs: e.iatMs });
      if (state.state !== 'live') {
        dead.push(sid);
        continue;
      }
      const seen = await this.redis.get(LAST_SEEN(sid));
      out.push({
        sid,
        startedAt: e.startedAt,
        address: e.address,
        userAgent: e.userAgent,
        lastSeenAt: seen ? new Date(Number(seen)).toISOString() : null,
      });
    }
    if (dead.length) await this.redis.hdel(SESSIONS_OF(staffId), ...dead);
    return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** Whether `sid` is one of the member's listed sessions (so a member ends only their own). */
  async owns(staffId: string, sid: string): Promise<boolean> {
    return (await this.redis.hexists(SESSIONS_OF(staffId), sid)) === 1;
  }

  /** The member accepted agreement `version` (records writes the database first; this is the fast copy every app reads). */
  async agreed(staffId: string, version: string): Promise<void> {
    await this.redis.set(AGREED(staffId), version, 'PX', this.ttlMs * 2);
  }

  /** Sign-out (or the idle limit): this session only. */
  async end(p: Pick<Principal, 'id' | 'sid'>, reason: 'signed_out' | 'idle' = 'signed_out'): Promise<void> {
    if (!p.sid) return;
    await this.redis.set(ENDED_SESSION(p.sid), p.id, 'PX', this.ttlMs);
    await this.redis.hdel(SESSIONS_OF(p.id), p.sid);
    await this.announce({ staffId: p.id, sid: p.sid, reason });
  }

  /** Deactivation, a new role, a new password or second factor: every session of this member issued until now. */
  async endAllFor(staffId: string, reason: AllSessionsEndedReason, now = Date.now()): Promise<void> {
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
