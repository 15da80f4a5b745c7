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
import { Principal } from './principal';
import { SessionRegistry } from './sessions';
import { TokenService } from './token.service';

export const ROLES_KEY = 'hotline:roles';
export const PUBLIC_KEY = 'hotline:public';

/** Which roles may call a route. Every non-public route must say (the security suite checks). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
export const Public = () => SetMetadata(PUBLIC_KEY, true);

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
    let live: boolean;
    try {
      live = await this.sessions.isLive(principal);
    } catch {
      throw new ServiceUnavailableException('sessions cannot be checked right now; try again shortly');
    }
    if (!live) throw new UnauthorizedException('this session has ended (signed out or deactivated): sign in again');
    req.user = principal;
    const roles = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets);
    if (!roles || !roles.includes(principal.role)) throw new ForbiddenException('your role may not do this');
    return true;
  }
}
