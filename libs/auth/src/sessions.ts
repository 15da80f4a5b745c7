import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import type Redis from 'ioredis';
import { Clock, systemClock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import type { SessionEndedReason } from '@hotline/contract';
import { REDIS, createRedis } from '@hotline/observability';
import { AuthStateKeys } from './auth-state';
import { Principal } from './principal';

/**
 * The keys of sessions' state in Redis, one hash tag (one slot on Redis Cluster). Records writes
 * them all; the gateway's Redis user may only read these five (docs/records.md, "Tokens and sessions"):
 * everything else under `hl:{auth}:` (sign-in challenges, WebAuthn challenges, sign-in limits) is
 * records' alone.
 */
export const AUTH_KEYS = {
  /** A session signed out or ended: present = ended (whatever its value). */
  endedSession: (sid: string) => `hl:{auth}:ended-session:${sid}`,
  /** Every session of a member issued up to a time ended (deactivated, new role, password, factor reset): signed. */
  endedBefore: (staffId: string) => `hl:{auth}:sessions-ended-before:${staffId}`,
  /** When a session last made a request (ms): the server-side idle limit. */
  seen: (sid: string) => `hl:{auth}:seen:${sid}`,
  /** The highest agreement version the member accepted: signed. */
  agreed: (staffId: string) => `hl:{auth}:agreed:${staffId}`,
  /** A session locked by its console's idle lock: present = locked. */
  locked: (sid: string) => `hl:{auth}:locked:${sid}`,
} as const;

/** Why every session of a member ended at once. */
export type AllSessionsEndedReason = Extract<
  SessionEndedReason,
  'deactivated' | 'role_changed' | 'password_changed' | 'password_reset' | 'factor_reset'
>;

/** What one request needs to know about its session, in one round trip. */
export interface SessionState {
  /** live; ended (signed out, deactivated, ...); idle (no request for SESSION_IDLE_SECONDS). */
  state: 'live' | 'ended' | 'idle';
  /** Locked by its console's idle lock: nothing is served but unlocking, signing out and GET /auth/me. */
  locked: boolean;
  /**
   * Gateway only: why `locked` (the Redis marker, or only what this node heard on the channel: an
   * unlock may still be on its way, records decides).
   */
  lockedBy?: 'marker' | 'heard';
  /** The highest agreement version this member accepted, as far as can be verified (null: none). */
  agreed: string | null;
  /** Records only: when the session last proved password and factor (sign-in, unlock, step-up), ms; null: never. */
  steppedUpAt?: number | null;
}

/**
 * Who decides whether a token's session is on. Records provides its own (MySQL, records'
 * SessionLedger); elsewhere (the gateway) the guard asks the SessionRegistry (Redis, read-only).
 */
export abstract class SessionAuthority {
  abstract check(p: Pick<Principal, 'id' | 'sid' | 'iatMs' | 'exp'>): Promise<SessionState>;
}

/** The sessions channel's messages, each signed by records (AuthStateKeys): ended, locked, unlocked, a new agreement. */
export type SessionEvent =
  | {
      kind: 'ended';
      staffId: string;
      /** One session (signed out, idle); absent: every session of this member issued until `before`. */
      sid?: string;
      before?: number;
      reason: 'signed_out' | 'idle' | AllSessionsEndedReason;
      at: number;
    }
  | { kind: 'locked' | 'unlocked'; staffId: string; sid: string; at: number }
  | { kind: 'agreement'; version: string | null; at: number };

export type SessionsEnded = Extract<SessionEvent, { kind: 'ended' }>;

/** A message on the channel older (or further ahead) than this is not believed (a replay). */
const MESSAGE_WINDOW_MS = 60_000;
/** How many ended sessions a node remembers before it drops those whose tokens have expired. */
const MEMORY_PRUNE_AT = 20_000;

/**
 * The channel on which session changes are announced to every gateway node (which disconnect or
 * refuse sockets at once). Pub/sub ignores SELECT, so the channel carries the database number.
 */
export function sessionsChannel(db: number | undefined): string {
  return `hotline:sessions-ended:db${db ?? 0}`;
}

/**
 * Sessions as Redis holds them: the fast copy the gateway checks at every socket connection and
 * event, written by records alone (records' own decisions rest on its MySQL database, which a Redis
 * writer cannot touch: apps/records/src/auth/session-ledger.ts).
 *
 * Every token carries a session id (`sid`) and the moment it was issued (`iatMs`). A session is over
 * when its sid is marked ended, or when its member's sessions were ended after it was issued (a
 * signed time per member); locked while its lock marker stands. Markers are kept only as long as a
 * token could still be valid (SESSION_TTL_SECONDS). Changes are announced on a channel, each message
 * signed by records and believed only within a minute of its time: every gateway node closes the
 * sockets at once, and remembers what it was told for as long as the tokens live, so that a marker
 * deleted from Redis does not revive a session on any node that heard of its end or lock.
 */
@Injectable()
export class SessionRegistry implements OnModuleDestroy {
  private subscriber?: Redis;
  /** What this node heard on the channel: ended sessions (sid -> forget after, ms), cut-offs by member, locks by sid. */
  private readonly heardEnded = new Map<string, number>();
  private readonly heardEndedBefore = new Map<string, number>();
  private readonly heardLock = new Map<string, { locked: boolean; at: number }>();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(ENV) private readonly env: Env,
    private readonly keys: AuthStateKeys,
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
   * The session's state, lock and its member's accepted agreement version, in one round trip; reads
   * only. A marker whose signature does not hold counts as the refusal it stands for (a forged
   * cut-off ends the member's sessions; a forged acceptance is no acceptance). A session started by
   * signing in carries a last-seen time: past SESSION_IDLE_SECONDS it is `idle` (records ends it).
   */
  async check(p: Pick<Principal, 'id' | 'sid' | 'iatMs'>): Promise<SessionState> {
    if (!p.sid) return { state: 'ended', locked: false, agreed: null };
    const [ended, endedBefore, seen, agreedRaw, lockedRaw] = await this.redis.mget(
      AUTH_KEYS.endedSession(p.sid),
      AUTH_KEYS.endedBefore(p.id),
      AUTH_KEYS.seen(p.sid),
      AUTH_KEYS.agreed(p.id),
      AUTH_KEYS.locked(p.sid),
    );
    const agreed = this.verifiedAgreed(p.id, agreedRaw);
    const lockedBy = lockedRaw !== null ? 'marker' : this.heardLock.get(p.sid)?.locked === true ? 'heard' : undefined;
    const locked = lockedBy !== undefined;
    const iatMs = p.iatMs ?? 0;
    if (ended || this.heardEnded.has(p.sid)) return { state: 'ended', locked, agreed };
    if (iatMs <= (this.heardEndedBefore.get(p.id) ?? -Infinity)) return { state: 'ended', locked, agreed };
    if (endedBefore !== null) {
      const cut = this.keys.verify<{ staffId?: unknown; before?: unknown }>(AUTH_KEYS.endedBefore(p.id), endedBefore);
      if (!cut || cut.staffId !== p.id || typeof cut.before !== 'number' || iatMs <= cut.before) return { state: 'ended', locked, agreed };
    }
    if (seen && this.clock.nowMs() - Number(seen) > this.idleMs) return { state: 'idle', locked, agreed };
    return { state: 'live', locked, agreed, ...(lockedBy ? { lockedBy } : {}) };
  }

  /** Records confirmed the session is unlocked (its announcement may not have arrived yet): forget the lock heard. */
  forgetLock(sid: string): void {
    const last = this.heardLock.get(sid);
    if (last?.locked) this.heardLock.set(sid, { locked: false, at: Date.now() });
  }

  /** The version in a signed acceptance for this member, or null. */
  private verifiedAgreed(staffId: string, raw: string | null): string | null {
    const a = this.keys.verify<{ staffId?: unknown; version?: unknown }>(AUTH_KEYS.agreed(staffId), raw);
    return a && a.staffId === staffId && typeof a.version === 'string' ? a.version : null;
  }

  /** The version the member accepted, as the signed copy says (null: none or not verifiable). */
  async agreedVersion(staffId: string): Promise<string | null> {
    return this.verifiedAgreed(staffId, await this.redis.get(AUTH_KEYS.agreed(staffId)));
  }

  // ---- written by records only (AuthStateKeys signs) ------------------------------------------------

  /** A session begun by signing in: held to the idle limit from now (the gateway's copy; records keeps its own). */
  async started(sid: string, nowMs: number): Promise<void> {
    await this.redis.set(AUTH_KEYS.seen(sid), String(nowMs), 'PX', this.ttlMs);
  }

  /** A request on a session: it is not idle. Only sessions begun by signing in are touched. */
  async touch(sids: string[], nowMs = this.clock.nowMs()): Promise<void> {
    if (!sids.length) return;
    const pipe = this.redis.pipeline();
    for (const sid of sids) pipe.set(AUTH_KEYS.seen(sid), String(nowMs), 'PX', this.ttlMs, 'XX');
    await pipe.exec();
  }

  /** The member accepted agreement `version` (records wrote the database first): the signed copy every app reads. */
  async agreed(staffId: string, version: string): Promise<void> {
    const key = AUTH_KEYS.agreed(staffId);
    await this.redis.set(key, this.keys.sign(key, { staffId, version }), 'PX', this.ttlMs * 2);
  }

  /** One session ended (signed out, ended from the list, idle): marked and announced. */
  async ended(p: { id: string; sid: string }, reason: 'signed_out' | 'idle'): Promise<void> {
    const key = AUTH_KEYS.endedSession(p.sid);
    await this.redis
      .multi()
      .set(key, this.keys.sign(key, { staffId: p.id, sid: p.sid }), 'PX', this.ttlMs)
      .del(AUTH_KEYS.locked(p.sid))
      .exec();
    await this.announce({ kind: 'ended', staffId: p.id, sid: p.sid, reason, at: Date.now() });
  }

  /** Every session of this member issued until `before` (ms) ended: marked (signed) and announced. */
  async allEnded(staffId: string, reason: AllSessionsEndedReason, before: number): Promise<void> {
    const key = AUTH_KEYS.endedBefore(staffId);
    await this.redis.set(key, this.keys.sign(key, { staffId, before }), 'PX', this.ttlMs);
    await this.announce({ kind: 'ended', staffId, before, reason, at: Date.now() });
  }

  /** The session is locked (records' database first): marked and announced, so that every node refuses its sockets. */
  async locked(p: { id: string; sid: string }): Promise<void> {
    const key = AUTH_KEYS.locked(p.sid);
    const at = Date.now();
    await this.redis.set(key, this.keys.sign(key, { staffId: p.id, sid: p.sid, at }), 'PX', this.ttlMs);
    await this.announce({ kind: 'locked', staffId: p.id, sid: p.sid, at });
  }

  /** The member unlocked the session with their password (and factor): the marker goes, and every node is told. */
  async unlocked(p: { id: string; sid: string }): Promise<void> {
    await this.redis.del(AUTH_KEYS.locked(p.sid));
    await this.announce({ kind: 'unlocked', staffId: p.id, sid: p.sid, at: Date.now() });
  }

  /** A new version of the agreement is current (null: none published): every node checks its sockets against it. */
  async agreementPublished(version: string | null): Promise<void> {
    await this.announce({ kind: 'agreement', version, at: Date.now() });
  }

  private async announce(e: SessionEvent): Promise<void> {
    await this.redis.publish(this.channel, this.keys.sign(this.channel, e));
  }

  // ---- heard by every node ------------------------------------------------------------------------

  /**
   * Calls `onEvent` for every session change records announces. A message that is not signed by
   * records, or is more than a minute old (a replay), is ignored. What is heard is also remembered
   * (ended sessions and cut-offs for as long as tokens live, the latest lock or unlock of each
   * session), and `check` believes it even if the Redis marker is gone.
   */
  async listen(onEvent: (e: SessionEvent) => void): Promise<void> {
    this.subscriber ??= createRedis(this.env.REDIS_URL, { connectionName: 'hotline-sessions' });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const e = this.keys.verify<SessionEvent>(this.channel, message);
      if (!e || typeof e.at !== 'number' || Math.abs(Date.now() - e.at) > MESSAGE_WINDOW_MS) return;
      if (!this.remember(e)) return;
      onEvent(e);
    });
    await this.subscriber.subscribe(this.channel);
  }

  /** Keeps what a message says; false for a lock or unlock older than the last one heard for its session. */
  private remember(e: SessionEvent): boolean {
    const now = Date.now();
    if (e.kind === 'ended') {
      if (this.heardEnded.size + this.heardEndedBefore.size > MEMORY_PRUNE_AT) this.prune(now);
      if (e.sid) this.heardEnded.set(e.sid, now + this.ttlMs);
      else if (typeof e.before === 'number')
        this.heardEndedBefore.set(e.staffId, Math.max(e.before, this.heardEndedBefore.get(e.staffId) ?? 0));
      if (e.sid) this.heardLock.delete(e.sid);
    } else if (e.kind === 'locked' || e.kind === 'unlocked') {
      const last = this.heardLock.get(e.sid);
      if (last && last.at > e.at) return false;
      if (this.heardLock.size > MEMORY_PRUNE_AT) this.heardLock.clear();
      this.heardLock.set(e.sid, { locked: e.kind === 'locked', at: e.at });
    }
    return true;
  }

  private prune(now: number): void {
    for (const [sid, until] of this.heardEnded) if (until < now) this.heardEnded.delete(sid);
    // A cut-off matters only to tokens issued before it, which expire within SESSION_TTL_SECONDS of it.
    for (const [staffId, before] of this.heardEndedBefore) if (before + this.ttlMs < now) this.heardEndedBefore.delete(staffId);
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
