import {
  CanActivate,
  ExecutionContext,
  Injectable,
  Optional,
  SetMetadata,
  UnauthorizedException,
  ForbiddenException,
  ServiceUnavailableException,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Clock, systemClock } from '@hotline/clock';
import type { Role } from '@hotline/contract';
import { AgreementCatalog } from './agreements';
import { Principal } from './principal';
import { SessionAuthority, SessionRegistry, SessionState } from './sessions';
import { TokenService } from './token.service';

export const ROLES_KEY = 'hotline:roles';
export const PUBLIC_KEY = 'hotline:public';
export const SIGN_IN_STEP_KEY = 'hotline:sign-in-step';
export const WHILE_LOCKED_KEY = 'hotline:while-locked';
export const STEP_UP_KEY = 'hotline:step-up';

/** Which roles may call a route. Every non-public route must say (the security suite checks). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/**
 * A route that finishes signing in (the agreement, a password to change, signing out): served before
 * the current agreement is accepted and before a one-time password is changed. Every other route
 * answers 403 `agreement_required` or `password_change_required` until then.
 */
export const SignInStep = () => SetMetadata(SIGN_IN_STEP_KEY, true);

/**
 * A route served while the session is locked by its console's idle lock (unlocking, signing out,
 * GET /auth/me, locking again). Every other route answers 403 `locked` until the member unlocks.
 */
export const WhileLocked = () => SetMetadata(WHILE_LOCKED_KEY, true);
/**
 * A route that needs a fresh factor (step-up): the session proved password and factor (sign-in,
 * unlock, POST /auth/step-up) within STEP_UP_SECONDS, not just its bearer token. 403
 * `step_up_required` otherwise.
 */
export const StepUp = () => SetMetadata(STEP_UP_KEY, true);

export const AGREEMENT_REQUIRED = 'agreement_required';
export const PASSWORD_CHANGE_REQUIRED = 'password_change_required';
export const SESSION_LOCKED = 'locked';
/** The 401 of a token whose session is over (signed out, ended, deactivated) or idle too long. */
export const SESSION_ENDED = 'session_ended';
export const SESSION_IDLE = 'session_idle';
export const STEP_UP_REQUIRED = 'step_up_required';
/** How long a proof of password and factor stands for step-up (adding a passkey, a password with a factor). */
export const STEP_UP_SECONDS = 5 * 60;

/** Whether the session proved password and factor within STEP_UP_SECONDS of `nowMs`. */
export function steppedUp(state: Pick<SessionState, 'steppedUpAt'>, nowMs: number): boolean {
  return typeof state.steppedUpAt === 'number' && nowMs - state.steppedUpAt <= STEP_UP_SECONDS * 1000;
}

export function stepUpRequired(): ForbiddenException {
  return new ForbiddenException({
    error: STEP_UP_REQUIRED,
    message: `confirm it is you first: POST /auth/step-up with your password and code (good for ${STEP_UP_SECONDS / 60} minutes)`,
  });
}

/** The session's state as the guard found it (steppedUpAt for step-up, locked). */
export const CurrentSession = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): SessionState => ctx.switchToHttp().getRequest().session,
);

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest().user);

/**
 * Global guard: a valid bearer token of a live session is required unless the route is @Public;
 * the role must be one the route lists. A route with neither @Public nor @Roles is refused (deny by default).
 * A locked session is served only @WhileLocked routes (403 `locked`); a @StepUp route needs a fresh
 * factor (403 `step_up_required`). Records decides with its own SessionAuthority (MySQL); the
 * gateway with the SessionRegistry (Redis, read-only). The session's state is left on the request
 * (`req.session`) for the handler.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly sessions: SessionRegistry,
    private readonly agreements: AgreementCatalog,
    @Optional() private readonly authority?: SessionAuthority,
    @Optional() private readonly clock?: Clock,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest();
    const header: string | undefined = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const principal = this.tokens.verify(token);
    if (!principal) throw new UnauthorizedException('a valid access token is required (Authorization: Bearer <accessToken>)');
    let state: SessionState;
    try {
      state = await (this.authority ?? this.sessions).check(principal);
    } catch {
      throw new ServiceUnavailableException('sessions cannot be checked right now; try again shortly');
    }
    if (state.state === 'idle')
      throw new UnauthorizedException({ error: SESSION_IDLE, message: 'this session ended after a long idle time: sign in again' });
    if (state.state !== 'live')
      throw new UnauthorizedException({
        error: SESSION_ENDED,
        message: 'this session has ended (signed out or deactivated): sign in again',
      });
    req.user = principal;
    req.session = state;
    const roles = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets);
    if (!roles || !roles.includes(principal.role)) throw new ForbiddenException('your role may not do this');
    // A locked session is served its @WhileLocked routes alone, whatever else is due: unlocking comes first.
    if (state.locked && !this.reflector.getAllAndOverride<boolean>(WHILE_LOCKED_KEY, targets))
      throw new ForbiddenException({
        error: SESSION_LOCKED,
        message: 'this console is locked: unlock it with your password (POST /auth/unlock)',
      });
    if (!state.locked && !this.reflector.getAllAndOverride<boolean>(SIGN_IN_STEP_KEY, targets)) {
      if (principal.mustChangePassword)
        throw new ForbiddenException({ error: PASSWORD_CHANGE_REQUIRED, message: 'choose a new password first (POST /auth/password)' });
      if (!this.agreements.satisfied(state.agreed)) {
        throw new ForbiddenException({
          error: AGREEMENT_REQUIRED,
          message: 'read and accept the current confidentiality agreement first (GET /agreements/current)',
          version: this.agreements.requiredVersion(),
        });
      }
    }
    if (this.reflector.getAllAndOverride<boolean>(STEP_UP_KEY, targets) && !steppedUp(state, (this.clock ?? systemClock).nowMs()))
      throw stepUpRequired();
    return true;
  }
}
