import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, NotFoundException, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, DuplicateUsernameError, Principal, Roles, SelfLockoutError, StaffService, SessionLedger } from '@hotline/auth';
import { UuidParam } from '../calls/uuid-param';
import { ApiErrors } from '../common/api-errors';
import { CreateUserDto, PasswordResetDto, StaffListDto, UpdateUserDto, UpdatedUserDto, UserDto } from '../auth/dto';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(
    private readonly staff: StaffService,
    private readonly sessions: SessionLedger,
  ) {}

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'Every staff account (admin): role, name, active, factor enrolled; no secret, no content' })
  @ApiOkResponse({ type: StaffListDto })
  @ApiErrors([401, 403])
  async list(): Promise<StaffListDto> {
    return { items: await this.staff.list() };
  }

  @Post(':id/password-reset')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: "Reset a member's password (admin)",
    description:
      'Sets a one-time password, returned this once for the admin to pass on. It signs in only to choose a new password (every other route answers 403 password_change_required). Every session of the member ends at once. Audited (never the password).',
  })
  @ApiOkResponse({ type: PasswordResetDto })
  @ApiErrors([400, 401, 403, 404])
  async resetPassword(@UuidParam('id') id: string, @CurrentUser() admin: Principal): Promise<PasswordResetDto> {
    if (id === admin.id) throw new BadRequestException({ message: 'change your own password with POST /auth/password', fields: ['id'] });
    const r = await this.staff.resetPassword(id, admin);
    if (!r) throw new NotFoundException('no such staff account');
    await this.sessions.endAllFor(id, 'password_reset');
    return { oneTimePassword: r.oneTimePassword };
  }

  @Post(':id/factor-reset')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({
    summary: "Reset a member's second factor (admin)",
    description:
      'Removes their TOTP secret, recovery codes and passkeys: they enrol again at their next sign-in (the only way a second factor is replaced: enrolment replaces nothing). Every session of the member ends at once. Audited.',
  })
  @ApiErrors([400, 401, 403, 404])
  async resetFactor(@UuidParam('id') id: string, @CurrentUser() admin: Principal): Promise<void> {
    if (id === admin.id) throw new BadRequestException({ message: 'another admin must reset your second factor', fields: ['id'] });
    const r = await this.staff.resetFactor(id, admin);
    if (!r) throw new NotFoundException('no such staff account');
    await this.sessions.endAllFor(id, 'factor_reset');
  }

  @Post()
  @Roles('admin')
  @ApiOperation({
    summary: 'Create a staff account (admin)',
    description:
      'Password of 12 characters or more, stored as an argon2id hash. Audited (username and role; never the password or the name).',
  })
  @ApiCreatedResponse({ type: UserDto })
  @ApiErrors([400, 401, 403, 409], { 409: 'That username is taken.' })
  async create(@Body() body: CreateUserDto, @CurrentUser() admin: Principal): Promise<UserDto> {
    try {
      const a = await this.staff.create(body, admin);
      return { id: a.id, username: a.username, role: a.role, displayName: a.displayName };
    } catch (e) {
      if (e instanceof DuplicateUsernameError) throw new ConflictException({ message: 'that username is taken', fields: ['username'] });
      throw e;
    }
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({
    summary: 'Change a staff account (admin): deactivate, reactivate, role, display name',
    description:
      'Deactivating a member, or changing their role, ends every session of theirs at once on every app and node: their next request is refused and their open consoles are disconnected. An admin cannot deactivate themselves or give up their own admin role. Audited (what changed; never the name).',
  })
  @ApiOkResponse({ type: UpdatedUserDto })
  @ApiErrors([400, 401, 403, 404])
  async update(@UuidParam('id') id: string, @Body() body: UpdateUserDto, @CurrentUser() admin: Principal): Promise<UpdatedUserDto> {
    if (body.active === undefined && body.role === undefined && body.displayName === undefined) {
      throw new BadRequestException({
        message: 'nothing to change: give active, role or displayName',
        fields: ['active', 'role', 'displayName'],
      });
    }
    let result;
    try {
      result = await this.staff.update(id, body, admin);
    } catch (e) {
      if (e instanceof SelfLockoutError)
        throw new BadRequestException({ message: e.message, fields: [body.active === false ? 'active' : 'role'] });
      throw e;
    }
    if (!result) throw new NotFoundException('no such staff account');
    const { account, changed } = result;
    const ends = (changed.includes('active') && !account.active) || changed.includes('role');
    if (ends) await this.sessions.endAllFor(id, changed.includes('active') ? 'deactivated' : 'role_changed');
    const sessionsEnded = ends;
    return {
      id: account.id,
      username: account.username,
      role: account.role,
      displayName: account.displayName,
      active: account.active,
      sessionsEnded,
    };
  }
}
