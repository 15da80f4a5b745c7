import { BadRequestException, HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuditService } from '@hotline/audit';
import {
  Principal,
  SessionState,
  StaffService,
  TokenService,
  passwordProblem,
  stepUpRequired,
  steppedUp,
  verifyPassword,
  SessionLedger,
} from '@hotline/auth';
import { Clock } from '@hotline/clock';
import { LoginThrottle } from './login-throttle';
import type { ClientInfo } from './login.service';

/**
 * A member changes their own password (or replaces the one-time password an admin set). The
 * current password is checked under the sign-in throttle (its own key), the new one against the
 * length rule, the local breach list and zxcvbn. A member with a second factor must also have proved
 * it within the last few minutes (step-up: sign-in, unlock, POST /auth/step-up), so that a bearer
 * token and a known password are not enough; for a member without one the current password is
 * itself the fresh proof. Every session of the member then ends, and the one that asked gets a
 * fresh token (a new session, fresh for step-up).
 */
@Injectable()
export class PasswordChanges {
  constructor(
    private readonly staff: StaffService,
    private readonly tokens: TokenService,
    private readonly ledger: SessionLedger,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async change(
    user: Principal,
    session: SessionState,
    current: string,
    next: string,
    client: ClientInfo,
  ): Promise<{ accessToken: string }> {
    const account = await this.staff.credentials(user.username);
    if (!account || account.id !== user.id || !account.active)
      throw new UnauthorizedException('this account no longer exists or is inactive');
    // A one-time password has just been entered at sign-in (itself a fresh proof); otherwise a factor needs a fresh step-up.
    if (!user.mustChangePassword && !steppedUp(session, this.clock.nowMs())) {
      const factors = await this.staff.factorsOf(account.id);
      if (factors.totp || factors.passkey) throw stepUpRequired();
    }
    const gate = await this.throttle.reserve(`password:${account.username}`, client.address);
    // 429, not 401: the session is fine (a 401 would sign the console out); the guessing is slowed.
    if (gate.state !== 'open') {
      const seconds = Math.max(1, gate.retryAfterSeconds);
      throw new HttpException(
        {
          error: 'Too Many Requests',
          message: `too many wrong current passwords; wait ${seconds} s before trying again`,
          retryAfterSeconds: seconds,
          headers: { 'Retry-After': String(seconds) },
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    if (!(await verifyPassword(account.passwordHash, current))) {
      await this.throttle.failed(gate.attempt);
      await this.audit.append({
        actorId: user.id,
        actorRole: user.role,
        action: 'staff.password_change_failed',
        targetType: 'staff',
        targetId: user.id,
        detail: { reason: 'bad_password' },
      });
      throw new BadRequestException({ message: 'the current password is wrong', fields: ['currentPassword'] });
    }
    await this.throttle.succeeded(gate.attempt);
    const problem =
      next === current
        ? 'the new password must differ from the current one'
        : passwordProblem(next, [account.username, account.displayName]);
    if (problem) throw new BadRequestException({ message: problem, fields: ['newPassword'] });
    await this.staff.setOwnPassword(user.id, next, user);
    const before = Date.now();
    await this.ledger.endAllFor(user.id, 'password_changed', before);
    // The new token must be issued after the moment every earlier one ended (iatMs is in ms).
    while (Date.now() <= before) await new Promise((r) => setTimeout(r, 1));
    const accessToken = this.tokens.sign({ id: account.id, username: account.username, role: account.role });
    await this.ledger.started(this.tokens.verify(accessToken)!, client);
    return { accessToken };
  }
}
