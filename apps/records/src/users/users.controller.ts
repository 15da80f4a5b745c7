import { Body, ConflictException, Controller, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, DuplicateUsernameError, Principal, Roles, StaffService } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { CreateUserDto, UserDto } from '../auth/dto';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly staff: StaffService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a staff account (admin)', description: 'Password of 12 characters or more, stored as an argon2id hash. Audited (username and role; never the password or the name).' })
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
}
