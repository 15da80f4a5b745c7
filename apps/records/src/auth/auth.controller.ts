import { Body, Controller, Get, HttpCode, Post, Req, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentUser, Principal, Public, Roles, SessionRegistry, StaffService } from '@hotline/auth';
import { AuditService } from '@hotline/audit';
import { ROLES } from '@hotline/contract';
import { ApiErrors } from '../common/api-errors';
import { LoginDto, LoginResponseDto, UserDto } from './dto';
import { LoginService } from './login.service';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly logins: LoginService,
    private readonly staff: StaffService,
    private readonly sessions: SessionRegistry,
    private readonly audit: AuditService,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in',
    description:
      'The same 401 for an unknown username and a wrong password. Repeated failures are slowed (429 with Retry-After): per username from one client address, then that username is locked from that address for a while (423); per username from every address together (slowed only, the wait capped, never locked); per client address across usernames, then that address is locked (423). No account is ever locked. The answer tells the account holder when they last signed in and how many attempts failed since. Every attempt is audited.',
  })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiErrors([400, 401, 423, 429])
  login(@Body() body: LoginDto, @Req() req: Request): Promise<LoginResponseDto> {
    return this.logins.login(body.username, body.password, req.ip ?? req.socket.remoteAddress ?? 'unknown');
  }

  @Get('me')
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The signed-in staff member' })
  @ApiOkResponse({ type: UserDto })
  @ApiErrors([401])
  async me(@CurrentUser() user: Principal): Promise<UserDto> {
    const account = await this.staff.findById(user.id);
    if (!account || !account.active) throw new UnauthorizedException('this account no longer exists or is inactive');
    return { id: account.id, username: account.username, role: account.role, displayName: account.displayName };
  }

  @Post('logout')
  @HttpCode(204)
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Sign out',
    description:
      'Ends this session on the server: the token is refused from now on by every app, and the consoles it opened are disconnected. Audited.',
  })
  @ApiNoContentResponse({ description: 'Signed out.' })
  @ApiErrors([401])
  async logout(@CurrentUser() user: Principal): Promise<void> {
    await this.sessions.end(user);
    await this.audit.append({ actorId: user.id, actorRole: user.role, action: 'auth.logout', targetType: 'staff', targetId: user.id });
  }
}
