import { HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Clock } from '@hotline/clock';
import { StaffService, TokenService, dummyPasswordHash, verifyPassword } from '@hotline/auth';
import { counter } from '@hotline/observability';
import type { Role } from '@hotline/contract';
import { LOGIN_LIMITS, LoginThrottle, Scope } from './login-throttle';

export interface LoginResult {
  accessToken: string;
  user: { id: string; username: string; role: Role; displayName: string };
}

const BAD_CREDENTIALS = 'wrong username or password';
const logins = () => counter('hotline_logins_total', 'Sign-in attempts by outcome', ['outcome']);

/**
 * Sign-in. One answer for an unknown username and a wrong password, with the same work done
 * (argon2id against a dummy hash), so neither the message nor the timing tells which. Every
 * attempt, whatever its outcome, is audited (never the password).
 */
@Injectable()
export class LoginService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly staff: StaffService,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async login(username: string, password: string, address: string): Promise<LoginResult> {
    const account = await this.staff.credentials(username);
    const actor = account ? { actorId: account.id, actorRole: account.role, targetType: 'staff', targetId: account.id } : {};
    const known = account ? { username: account.username } : {};

    const lockedUntil = account?.lockedUntil && account.lockedUntil > this.clock.now() ? account.lockedUntil : null;
    if (lockedUntil) {
      await this.audit.append({ ...actor, action: 'auth.login_failed', detail: { ...known, reason: 'locked', scope: 'account' } });
      throw refusal('locked', 'account', Math.ceil((lockedUntil.getTime() - this.clock.nowMs()) / 1000));
    }
    // Counted before the password is checked, so parallel guesses cannot outrun the limit.
    const gate = await this.throttle.reserve(username, address);
    if (gate.state !== 'open') {
      const { state, scope, retryAfterSeconds } = gate;
      if (gate.lockedNow) await this.lockAccount(scope, account?.id, retryAfterSeconds);
      await this.audit.append({ ...actor, action: 'auth.login_failed', detail: { ...known, reason: state, scope } });
      throw refusal(state, scope, retryAfterSeconds);
    }

    const ok = await verifyPassword(account?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!ok || !account || !account.active) {
      const reason = !account ? 'unknown_user' : !ok ? 'bad_password' : 'inactive';
      const { locked } = await this.throttle.failed(gate.attempt);
      if (account) await this.ds.query('UPDATE staff SET failed_logins = failed_logins + 1 WHERE id = ?', [account.id]);
      if (locked) await this.lockAccount(locked.scope, account?.id, locked.seconds);
      await this.audit.append({
        ...actor,
        action: 'auth.login_failed',
        detail: { ...known, reason, ...(locked ? { locked: locked.scope } : {}) },
      });
      if (locked) throw refusal('locked', locked.scope, locked.seconds);
      logins().inc({ outcome: 'failed' });
      throw new UnauthorizedException(BAD_CREDENTIALS);
    }

    await this.throttle.succeeded(gate.attempt);
    await this.ds.transaction(async (m) => {
      await m.query('UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = ?', [account.id]);
      await this.audit.append({ ...actor, action: 'auth.login', detail: { username: account.username } }, m);
    });
    logins().inc({ outcome: 'ok' });
    const user = { id: account.id, username: account.username, role: account.role, displayName: account.displayName };
    return { accessToken: this.tokens.sign(user), user };
  }

  /** An account's lock is kept on the staff row too, so it outlives a Redis restart. */
  private async lockAccount(scope: Scope, staffId: string | undefined, seconds: number): Promise<void> {
    if (scope !== 'account' || !staffId) return;
    await this.ds.query('UPDATE staff SET locked_until = ?, failed_logins = 0 WHERE id = ?', [
      new Date(this.clock.nowMs() + seconds * 1000),
      staffId,
    ]);
  }
}

function refusal(state: 'throttled' | 'locked', scope: Scope, retryAfterSeconds: number): HttpException {
  logins().inc({ outcome: state });
  const seconds = Math.max(1, retryAfterSeconds);
  const who = scope === 'account' ? 'this account' : 'your address';
  const body =
    state === 'locked'
      ? { error: 'Locked', message: `sign-in for ${who} is locked after repeated failures; try again in ${minutes(seconds)}` }
      : { error: 'Too Many Requests', message: `too many failed sign-ins for ${who}; wait ${seconds} s before trying again` };
  return new HttpException(
    { ...body, retryAfterSeconds: seconds, headers: { 'Retry-After': String(seconds) } },
    state === 'locked' ? HttpStatus.LOCKED : HttpStatus.TOO_MANY_REQUESTS,
  );
}

function minutes(seconds: number): string {
  return seconds >= 90 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
}

export { LOGIN_LIMITS };
