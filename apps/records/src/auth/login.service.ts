import { HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { StaffService, TokenService, dummyPasswordHash, verifyPassword } from '@hotline/auth';
import { counter } from '@hotline/observability';
import type { Role } from '@hotline/contract';
import { LoginThrottle, Scope } from './login-throttle';

export interface LoginResult {
  accessToken: string;
  user: { id: string; username: string; role: Role; displayName: string };
  /** When this account last signed in successfully before this sign-in (null: never). */
  lastSignInAt: string | null;
  /** Sign-ins refused for this account since then (wrong password, slowed or locked), from any address. */
  failedAttemptsSince: number;
}

const BAD_CREDENTIALS = 'wrong username or password';
const logins = () => counter('hotline_logins_total', 'Sign-in attempts by outcome', ['outcome']);

/**
 * Sign-in. One answer for an unknown username and a wrong password, with the same work done
 * (argon2id against a dummy hash), so neither the message nor the timing tells which. Every
 * attempt, whatever its outcome, is audited (never the password). No account is ever locked
 * (LoginThrottle): a stranger could otherwise keep staff out; instead the account holder is told
 * at their next sign-in how many attempts failed since the one before (`staff.failed_logins`).
 */
@Injectable()
export class LoginService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly staff: StaffService,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
  ) {}

  async login(username: string, password: string, address: string): Promise<LoginResult> {
    const account = await this.staff.credentials(username);
    const actor = account ? { actorId: account.id, actorRole: account.role, targetType: 'staff', targetId: account.id } : {};
    const known = account ? { username: account.username } : {};

    // Counted before the password is checked, so parallel guesses cannot outrun the limit.
    const gate = await this.throttle.reserve(username, address);
    if (gate.state !== 'open') {
      const { state, scope, retryAfterSeconds } = gate;
      if (account) await this.countFailure(account.id);
      await this.audit.append({ ...actor, action: 'auth.login_failed', detail: { ...known, reason: state, scope } });
      throw refusal(state, scope, retryAfterSeconds);
    }

    const ok = await verifyPassword(account?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!ok || !account || !account.active) {
      const reason = !account ? 'unknown_user' : !ok ? 'bad_password' : 'inactive';
      const { locked } = await this.throttle.failed(gate.attempt);
      if (account) await this.countFailure(account.id);
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
    const since = await this.ds.transaction(async (m) => {
      // The row lock orders simultaneous sign-ins of one account: each reports what came before it.
      const [row] = await m.query('SELECT failed_logins FROM staff WHERE id = ? FOR UPDATE', [account.id]);
      const [last] = await m.query(
        "SELECT at FROM audit_log WHERE target_type = 'staff' AND target_id = ? AND action = 'auth.login' ORDER BY seq DESC LIMIT 1",
        [account.id],
      );
      await m.query('UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = ?', [account.id]);
      await this.audit.append({ ...actor, action: 'auth.login', detail: { username: account.username } }, m);
      return {
        lastSignInAt: last ? new Date(last.at).toISOString() : null,
        failedAttemptsSince: Number(row?.failed_logins ?? 0),
      };
    });
    logins().inc({ outcome: 'ok' });
    const user = { id: account.id, username: account.username, role: account.role, displayName: account.displayName };
    return { accessToken: this.tokens.sign(user), user, ...since };
  }

  /** One more refused sign-in for the account holder to be told of (`staff.failed_logins`, reset by a sign-in). */
  private async countFailure(staffId: string): Promise<void> {
    await this.ds.query('UPDATE staff SET failed_logins = failed_logins + 1 WHERE id = ?', [staffId]);
  }
}

const WHO: Record<Scope, string> = {
  pair: 'for this account from your address',
  account: 'for this account',
  address: 'from your address',
};

function refusal(state: 'throttled' | 'locked', scope: Scope, retryAfterSeconds: number): HttpException {
  logins().inc({ outcome: state });
  const seconds = Math.max(1, retryAfterSeconds);
  const who = WHO[scope];
  const body =
    state === 'locked'
      ? { error: 'Locked', message: `sign-in ${who} is locked after repeated failures; try again in ${minutes(seconds)}` }
      : { error: 'Too Many Requests', message: `too many failed sign-ins ${who}; wait ${seconds} s before trying again` };
  return new HttpException(
    { ...body, retryAfterSeconds: seconds, headers: { 'Retry-After': String(seconds) } },
    state === 'locked' ? HttpStatus.LOCKED : HttpStatus.TOO_MANY_REQUESTS,
  );
}

function minutes(seconds: number): string {
  return seconds >= 90 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
}
