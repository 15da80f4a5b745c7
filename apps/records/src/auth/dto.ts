import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
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

export class FactorsDto {
  @ApiProperty({ description: 'A TOTP authenticator app is enrolled (a code, or a recovery code, is asked)' }) totp: boolean;
  @ApiProperty({ description: 'At least one passkey is registered (it may stand in for a code)' }) passkey: boolean;
}

export class MeDto extends UserDto {
  @ApiProperty({
    description:
      'This session is locked by its console’s idle lock: nothing but POST /auth/unlock, POST /auth/logout and this route is served, and no socket event, until the member unlocks it. A console reloaded shows its lock from this.',
  })
  locked: boolean;
  @ApiProperty({ type: FactorsDto, description: 'What unlocking and step-up ask for besides the password' }) factors: FactorsDto;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Until when this session counts as having just proved password and factor (step-up); null: not now',
  })
  stepUpUntil: string | null;
  @ApiProperty({ description: 'The console locks after this many seconds without input (CONSOLE_IDLE_LOCK_SECONDS)' })
  idleLockSeconds: number;
}

export class ReauthDto {
  @ApiProperty({ format: 'password', description: 'Your password' })
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;

  @ApiPropertyOptional({
    description: 'With a TOTP factor: six digits from the authenticator app, or a recovery code (each good once)',
    example: '123456',
  })
  @IsOptional()
  @IsString()
  @Length(6, 16)
  code?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "With a passkey: the browser's WebAuthn answer (startAuthentication) to POST /auth/reauth/passkey-options",
  })
  @IsOptional()
  @IsObject()
  passkey?: Record<string, unknown>;
}

export class UnlockedDto {
  @ApiProperty({ enum: [false] }) locked: false;
  @ApiProperty({ format: 'date-time', description: 'Until when this session counts as stepped up (unlocking proves password and factor)' })
  stepUpUntil: string;
}

export class SessionCheckDto {
  @ApiProperty({ description: 'The session id the token carries' }) sid: string;
  @ApiProperty({ enum: [true] }) live: true;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Until when the last proof of password and factor stands',
  })
  stepUpUntil: string | null;
}

export class SteppedUpDto {
  @ApiProperty({ format: 'date-time', description: 'Until when adding a passkey or changing the password is allowed without asking again' })
  stepUpUntil: string;
}

export class LoginResponseDto {
  @ApiProperty({
    description:
      'ES256 JWT signed by records (verify with TOKEN_PUBLIC_KEY); send as `Authorization: Bearer <accessToken>`. Lasts one shift (SESSION_TTL_SECONDS).',
  })
  accessToken: string;
  @ApiProperty({ type: UserDto }) user: UserDto;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When this account last signed in successfully before this sign-in; null if it never had. Show it to the account holder.',
  })
  lastSignInAt: string | null;
  @ApiProperty({
    type: Number,
    minimum: 0,
    description:
      'How many sign-ins for this account were refused since then, from any address (wrong password, or slowed or locked by the sign-in limits). Show it to the account holder: failures they did not make mean someone is guessing.',
  })
  failedAttemptsSince: number;
  @ApiProperty({
    description: 'Signed in with a one-time password: only POST /auth/password (and sign-out) is served until a new one is chosen',
  })
  mustChangePassword: boolean;
  @ApiProperty({
    description: 'The console locks after this many seconds without input (CONSOLE_IDLE_LOCK_SECONDS), never during a live call',
  })
  idleLockSeconds: number;
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

export class UpdateUserDto {
  @ApiPropertyOptional({
    description:
      'false deactivates the account: its sessions end at once on every app (requests refused, consoles disconnected); true reactivates it',
  })
  @IsOptional()
  @IsBoolean({ message: 'active must be true or false' })
  active?: boolean;

  @ApiPropertyOptional({ enum: ROLES, description: "A new role ends the member's sessions (their tokens carry the old one)" })
  @IsOptional()
  @IsIn(ROLES as unknown as string[], { message: `role must be one of ${ROLES.join(', ')}` })
  role?: Role;

  @ApiPropertyOptional({ example: 'Sam (night shift)', maxLength: 128 })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(/\S/, { message: 'displayName must not be blank' })
  displayName?: string;
}

export class UpdatedUserDto extends UserDto {
  @ApiProperty() active: boolean;
  @ApiProperty({ description: 'Whether the change ended every session of this member (deactivation, new role)' }) sessionsEnded: boolean;
}

export class FactorChallengeDto {
  @ApiProperty({
    enum: ['totp', 'enrol'],
    description:
      'totp: send a code from the authenticator app (or a recovery code) to POST /auth/factor; enrol: first POST /auth/factor/enrol',
  })
  factorRequired: 'totp' | 'enrol';
  @ApiProperty({ description: `Names this sign-in for the next step; lasts 5 minutes, at most 5 codes` }) challenge: string;
  @ApiPropertyOptional({ description: 'The member has a passkey: it may be used in place of a code (POST /auth/factor/passkey/options)' })
  passkey?: boolean;
}

export class ChallengeDto {
  @ApiProperty()
  @IsString()
  @Length(1, 64)
  challenge: string;
}

export class FactorDto extends ChallengeDto {
  @ApiProperty({
    description: 'Six digits from the authenticator app, or a recovery code (xxxxx-xxxxx, each good once)',
    example: '123456',
  })
  @IsString()
  @Length(6, 16)
  code: string;
}

export class EnrolmentDto {
  @ApiProperty({ description: 'Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s), to type into an authenticator app' }) secret: string;
  @ApiProperty({ example: 'otpauth://totp/Hotline:sam?issuer=Hotline&secret=...&algorithm=SHA1&digits=6&period=30' }) otpauthUrl: string;
  @ApiProperty({ description: 'The otpauth URL as a QR code (PNG data URL) to scan' }) qrDataUrl: string;
}

export class FactorResponseDto extends LoginResponseDto {
  @ApiPropertyOptional({ type: [String], description: 'After enrolment only: ten recovery codes, each good once, shown this once' })
  recoveryCodes?: string[];
  @ApiPropertyOptional({ description: 'After signing in with a recovery code: how many remain' }) recoveryCodesLeft?: number;
}

export class ChangePasswordDto {
  @ApiProperty({ format: 'password' })
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  currentPassword: string;

  @ApiProperty({ format: 'password', minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH })
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  newPassword: string;
}

export class PasswordChangedDto {
  @ApiProperty({ description: 'A new token: every other session of this member has ended (this one too; use this token)' })
  accessToken: string;
}

export class SessionDto {
  @ApiProperty() sid: string;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ description: 'Client address it signed in from' }) address: string;
  @ApiProperty({ type: String, nullable: true }) userAgent: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastSeenAt: string | null;
  @ApiProperty({ description: 'The session this request was made with' }) current: boolean;
}

export class SessionListDto {
  @ApiProperty({ type: [SessionDto] }) items: SessionDto[];
}

export class StaffListingDto extends UserDto {
  @ApiProperty() active: boolean;
  @ApiProperty() factorEnrolled: boolean;
  @ApiProperty() mustChangePassword: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class StaffListDto {
  @ApiProperty({ type: [StaffListingDto] }) items: StaffListingDto[];
}

export class PasswordResetDto {
  @ApiProperty({ description: 'Shown once: pass it to the member; it signs in only to choose a new password' }) oneTimePassword: string;
}

export class PasskeyResponseDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "The browser's WebAuthn answer as JSON (@simplewebauthn/browser's startRegistration / startAuthentication)",
  })
  @IsObject()
  response: Record<string, unknown>;
}

export class PasskeyFactorDto extends ChallengeDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The browser's WebAuthn answer as JSON (startAuthentication)" })
  @IsObject()
  response: Record<string, unknown>;
}

export class PasskeyDto {
  @ApiProperty({ description: 'Credential id (base64url)' }) id: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt: string | null;
}

export class PasskeyListDto {
  @ApiProperty({ type: [PasskeyDto] }) items: PasskeyDto[];
}
