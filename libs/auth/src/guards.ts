import {
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  ForbiddenException,
  ServiceUnavailableException,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@hotline/contract';
import { AgreementCatalog } from './agreements';
import { Principal } from './principal';
import { SessionRegistry } from './sessions';
import { TokenService } from './token.service';

export const ROLES_KEY = 'hotline:roles';
export const PUBLIC_KEY = 'hotline:public';
export const SIGN_IN_STEP_KEY = 'hotline:sign-in-step';

/** Which roles may call a route. Every non-public route must say (the security suite checks). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/**
 * A route that finishes signing in (the agreement, a password to change, signing out): served before
 * the current agreement is accepted and before a one-time password is changed. Every other route
 * answers 403 `agreement_required` or `password_change_required` until then.
 */
export const SignInStep = () => SetMetadata(SIGN_IN_STEP_KEY, true);

export const AGREEMENT_REQUIRED = 'agreement_required';
export const PASSWORD_CHANGE_REQUIRED = 'password_change_required';

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest().user);

/**
 * Global guard: a valid bearer token of a live session is required unless the route is @Public;
 * the role must be one the route lists. A route with neither @Public nor @Roles is refused (deny by default).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly sessions: SessionRegistry,
    private readonly agreements: AgreementCatalog,
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
    let state: Awaited<ReturnType<SessionRegistry['check']>>;
    try {
      state = await this.sessions.check(principal);
      if (state.state === 'live') await this.sessions.touch([principal.sid!]);
    } catch {
      throw new ServiceUnavailableException('sessions cannot be checked right now; try again shortly');
    }
    if (state.state === 'idle') throw new UnauthorizedException('this session ended after a long idle time: sign in again');
    if (state.state !== 'live') throw new UnauthorizedException('this session has ended (signed out or deactivated): sign in again');
    req.user = principal;
    const roles = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets);
    if (!roles || !roles.includes(principal.role)) throw new ForbiddenException('your role may not do this');
    if (!this.reflector.getAllAndOverride<boolean>(SIGN_IN_STEP_KEY, targets)) {
      if (principal.mustChangePassword)
        throw new ForbiddenException({ error: PASSWORD_CHANGE_REQUIRED, message: 'choose a new password first (POST /auth/password)' });
      if (!this.agreements.satisfied(state.agreed)) {
        throw new ForbiddenException({
          error: AGREEMENT_REQUIRED,
          message: 'read and accept the current confidentiality agreement first (GET /agreements/current)',
          version: this.agreements.current()?.version,
        });
      }
    }
    return true;
  }
}
