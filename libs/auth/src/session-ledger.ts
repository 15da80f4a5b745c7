import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { AgreementCatalog, compareVersions } from './agreements';
import { Principal } from './principal';
import { AllSessionsEndedReason, SessionAuthority, SessionRegistry, SessionState } from './sessions';
import { StaffService } from './staff.service';

/** One signed-in session, as its member sees it in their list. */
export interface SessionInfo {
  sid: string;
  startedAt: string;
  /** The client address it signed in from (staff only; never a caller's). */
  address: string;
  userAgent: string | null;
  lastSeenAt: string | null;
}

type SessionKey = Pick<Principal, 'id' | 'sid' | 'iatMs' | 'exp'>;

/**
 * Records' own record of sessions (MySQL `staff_sessions`, `staff.sessions_ended_before`), which it
 * alone writes and which decides every request: whoever can write to Redis can neither revive a
 * session that ended (deleting `ended-session`, rewriting a cut-off), nor unlock a locked one, nor
 * claim a step-up, nor forge an acceptance of the agreement (the Redis copy is signed, and checked
 * against the database when it does not satisfy). Each change is also written to Redis (signed
 * where the gateway must believe a value) and announced, for the gateway's socket checks
 * (SessionRegistry).
 *
 * A token of a session begun by signing in has a row from the start (address, user agent, last
 * request, step-up); one minted without signing in (tests' factories) gets a row when it is ended or
 * locked, and has no idle limit and no step-up until then.
 */
@Injectable()
export class SessionLedger extends SessionAuthority {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly registry: SessionRegistry,
    private readonly catalog: AgreementCatalog,
    private readonly staff: StaffService,
    private readonly clock: Clock,
    @Inject(ENV) private readonly env: Env,
  ) {
    super();
  }

  private get idleMs(): number {
    return this.env.SESSION_IDLE_SECONDS * 1000;
  }

  /** A request moves the session's last-seen time in MySQL at most this often (the idle limit is counted in minutes). */
  private get touchEveryMs(): number {
    return Math.min(60_000, Math.floor(this.idleMs / 10));
  }

  /**
   * The session's state for this request, from MySQL: ended (signed out, ended from the list, idle,
   * or every session of the member ended after it was issued, or the member deactivated), locked,
   * when it last proved password and factor, the agreement its member accepted. A live request
   * counts as use (the idle limit); one idle too long is ended here, for good, and announced.
   */
  async check(p: SessionKey): Promise<SessionState> {
    if (!p.sid) return { state: 'ended', locked: false, agreed: null };
    const now = this.clock.nowMs();
    const [row] = await this.ds.query(
      `SELECT (SELECT active FROM staff WHERE id = ?) AS active, (SELECT sessions_ended_before FROM staff WHERE id = ?) AS cut,
              ss.staff_id, ss.signed_in, ss.ended_at, ss.locked_at, ss.stepped_up_at, ss.last_seen_at
         FROM (SELECT 1 AS one) AS x LEFT JOIN staff_sessions ss ON ss.sid = ?`,
      [p.id, p.id, p.sid],
    );
    const locked = !!row?.locked_at;
    const steppedUpAt = row?.stepped_up_at ? new Date(row.stepped_up_at).getTime() : null;
    const iat = p.iatMs ?? 0;
    const ended =
      (row?.staff_id && row.staff_id !== p.id) ||
      !!row?.ended_at ||
      (row?.cut !== null && row?.cut !== undefined && iat <= Number(row.cut)) ||
      (row?.active !== null && row?.active !== undefined && !Number(row.active));
    if (ended) return { state: 'ended', locked, agreed: null, steppedUpAt };
    const seen = row?.last_seen_at ? new Date(row.last_seen_at).getTime() : null;
    if (Number(row?.signed_in) && seen !== null && now - seen > this.idleMs) {
      await this.end({ id: p.id, sid: p.sid, iatMs: p.iatMs, exp: p.exp }, 'idle');
      return { state: 'idle', locked, agreed: null, steppedUpAt };
    }
    if (Number(row?.signed_in)) {
      if (seen === null || now - seen >= this.touchEveryMs)
        await this.ds.query('UPDATE staff_sessions SET last_seen_at = ? WHERE sid = ? AND ended_at IS NULL', [new Date(now), p.sid]);
      await this.registry.touch([p.sid], now);
    }
    return { state: 'live', locked, agreed: await this.agreed(p.id), steppedUpAt };
  }

  /**
   * The member's accepted version, as far as the current agreement needs to know: the signed Redis
   * copy when it satisfies, otherwise the database (and the copy is written again from it).
   */
  private async agreed(staffId: string): Promise<string | null> {
    if (!this.catalog.requiredVersion()) return null;
    const copy = await this.registry.agreedVersion(staffId);
    if (this.catalog.satisfied(copy)) return copy;
    const accepted = (await this.staff.acceptedVersions(staffId)).sort(compareVersions).pop() ?? null;
    if (accepted && accepted !== copy) await this.registry.agreed(staffId, accepted);
    return accepted ?? copy;
  }

  /** A session begun by signing in (or by a new password): listed, held to the idle limit, and fresh for step-up. */
  async started(p: SessionKey, client: { address: string; userAgent?: string }): Promise<void> {
    if (!p.sid) return;
    const now = new Date(this.clock.nowMs());
    await this.ds.query(
      `INSERT INTO staff_sessions (sid, staff_id, issued_at_ms, started_at, expires_at, address, user_agent, signed_in, last_seen_at, stepped_up_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
      [
        p.sid,
        p.id,
        p.iatMs ?? now.getTime(),
        now,
        this.expiry(p),
        client.address.slice(0, 64),
        client.userAgent?.slice(0, 200) ?? null,
        now,
        now,
      ],
    );
    // Where long-expired sessions signed in from is no longer kept.
    await this.ds.query(
      'UPDATE staff_sessions SET address = NULL, user_agent = NULL WHERE staff_id = ? AND expires_at < ? AND address IS NOT NULL',
      [p.id, now],
    );
    await this.registry.started(p.sid, now.getTime());
  }

  /** One session ends (signed out, ended from the member's list, idle): for good, everywhere. */
  async end(p: SessionKey, reason: 'signed_out' | 'idle' = 'signed_out'): Promise<void> {
    if (!p.sid) return;
    const now = new Date(this.clock.nowMs());
    await this.ds.query(
      `INSERT INTO staff_sessions (sid, staff_id, issued_at_ms, started_at, expires_at, ended_at, ended_reason) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE ended_reason = IF(ended_at IS NULL, VALUES(ended_reason), ended_reason), ended_at = COALESCE(ended_at, VALUES(ended_at))`,
      [p.sid, p.id, p.iatMs ?? now.getTime(), now, this.expiry(p), now, reason],
    );
    await this.registry.ended({ id: p.id, sid: p.sid }, reason);
  }

  /** Deactivation, a new role, a new password or factor: every session of this member issued until `before` (ms). */
  async endAllFor(staffId: string, reason: AllSessionsEndedReason, before = Date.now()): Promise<void> {
    await this.ds.query('UPDATE staff SET sessions_ended_before = GREATEST(COALESCE(sessions_ended_before, 0), ?) WHERE id = ?', [
      before,
      staffId,
    ]);
    await this.ds.query(
      'UPDATE staff_sessions SET ended_reason = ?, ended_at = ? WHERE staff_id = ? AND ended_at IS NULL AND issued_at_ms <= ?',
      [reason, new Date(this.clock.nowMs()), staffId, before],
    );
    await this.registry.allEnded(staffId, reason, before);
  }

  /** The console's idle lock: from now on only unlocking, signing out and GET /auth/me are served, and no socket event. */
  async lock(p: SessionKey): Promise<void> {
    if (!p.sid) return;
    const now = new Date(this.clock.nowMs());
    await this.ds.query(
      `INSERT INTO staff_sessions (sid, staff_id, issued_at_ms, started_at, expires_at, locked_at) VALUES (?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE locked_at = COALESCE(locked_at, VALUES(locked_at))`,
      [p.sid, p.id, p.iatMs ?? now.getTime(), now, this.expiry(p), now],
    );
    await this.registry.locked({ id: p.id, sid: p.sid });
  }

  /** The member proved password and factor again: unlocked (if it was), and fresh for step-up from now. */
  async reauthenticated(p: SessionKey, opts: { unlock: boolean }): Promise<{ wasLocked: boolean; steppedUpAt: number }> {
    const now = this.clock.nowMs();
    const at = new Date(now);
    const [row] = await this.ds.query('SELECT locked_at FROM staff_sessions WHERE sid = ?', [p.sid]);
    const wasLocked = !!row?.locked_at;
    await this.ds.query(
      `INSERT INTO staff_sessions (sid, staff_id, issued_at_ms, started_at, expires_at, stepped_up_at) VALUES (?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE stepped_up_at = VALUES(stepped_up_at)${opts.unlock ? ', locked_at = NULL' : ''}`,
      [p.sid, p.id, p.iatMs ?? now, at, this.expiry(p), at],
    );
    if (opts.unlock && wasLocked) await this.registry.unlocked({ id: p.id, sid: p.sid! });
    return { wasLocked, steppedUpAt: now };
  }

  /** The member's live sessions begun by signing in, newest first. */
  async list(staffId: string): Promise<SessionInfo[]> {
    const now = this.clock.nowMs();
    const rows = await this.ds.query(
      `SELECT ss.sid, ss.started_at, ss.address, ss.user_agent, ss.last_seen_at
         FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id
        WHERE ss.staff_id = ? AND ss.signed_in = 1 AND ss.ended_at IS NULL AND ss.expires_at > ?
          AND ss.issued_at_ms > COALESCE(s.sessions_ended_before, -1)
        ORDER BY ss.started_at DESC LIMIT 100`,
      [staffId, new Date(now)],
    );
    return rows
      .filter((r: any) => !r.last_seen_at || now - new Date(r.last_seen_at).getTime() <= this.idleMs)
      .map((r: any) => ({
        sid: r.sid,
        startedAt: new Date(r.started_at).toISOString(),
        address: r.address ?? '',
        userAgent: r.user_agent ?? null,
        lastSeenAt: r.last_seen_at ? new Date(r.last_seen_at).toISOString() : null,
      }));
  }

  /** Whether `sid` is one of the member's live listed sessions (so a member ends only their own). */
  async owns(staffId: string, sid: string): Promise<boolean> {
    return (await this.list(staffId)).some((s) => s.sid === sid);
  }

  private expiry(p: SessionKey): Date {
    return new Date(p.exp ? p.exp * 1000 : Date.now() + this.env.SESSION_TTL_SECONDS * 1000);
  }
}
