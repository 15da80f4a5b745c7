import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, USERNAME_PATTERN } from '@hotline/auth';
import { ROLES, Role } from '@hotline/contract';

export class LoginDto {
  @ApiProperty({ example: 'alex' })
  @IsString()
  @Length(1, 64)
  username: string;

  @ApiProperty({ format: 'password', example: 'correct horse battery staple' })
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() username: string;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty() displayName: string;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'HS256 JWT; send as `Authorization: Bearer <accessToken>`. Lasts one shift (SESSION_TTL_SECONDS).' })
  accessToken: string;
  @ApiProperty({ type: UserDto }) user: UserDto;
}

export class CreateUserDto {
  @ApiProperty({ example: 'sam.ops', pattern: USERNAME_PATTERN.source })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3 to 64 letters, digits, dots, dashes or underscores' })
  username: string;

  @ApiProperty({ format: 'password', minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH, { message: `password must be at least ${MIN_PASSWORD_LENGTH} characters` })
  @MaxLength(MAX_PASSWORD_LENGTH)
  password: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES as unknown as string[], { message: `role must be one of ${ROLES.join(', ')}` })
  role: Role;

  @ApiProperty({ example: 'Sam (evening shift)', maxLength: 128 })
  @IsString()
  @Length(1, 128)
  @Matches(/\S/, { message: 'displayName must not be blank' })
  displayName: string;
}
