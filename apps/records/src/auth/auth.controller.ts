import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentUser, Principal, Public, Roles, SessionRegistry, SignInStep, StaffService } from '@hotline/auth';
import { AuditService } from '@hotline/audit';
import { ROLES } from '@hotline/contract';
import { ApiErrors } from '../common/api-errors';
import {
  ChallengeDto,
  ChangePasswordDto,
  EnrolmentDto,
  FactorChallengeDto,
  FactorDto,
  FactorResponseDto,
  LoginDto,
  LoginResponseDto,
  PasskeyFactorDto,
  PasskeyListDto,
  PasskeyResponseDto,
  PasswordChangedDto,
  SessionListDto,
  UserDto,
} from './dto';
import { FactorChallenge, LoginResult, LoginService } from './login.service';
import { PasswordChanges } from './password-changes';
import { Passkeys } from './passkeys';

function client(req: Request) {
  return { address: req.ip ?? req.socket.remoteAddress ?? 'unknown', userAgent: req.headers['user-agent'] };
}

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly logins: LoginService,
    private readonly staff: StaffService,
    private readonly sessions: SessionRegistry,
    private readonly audit: AuditService,
    private readonly passwords: PasswordChanges,
    private readonly passkeyRegistry: Passkeys,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in',
    description:
      'The same 401 for an unknown username and a wrong password. Repeated failures are slowed (429 with Retry-After): per username from one client address, then that username is locked from that address for a while (423); per username from every address together (slowed only, the wait capped, never locked); per client address across usernames, then that address is locked (423). No account is ever locked. The answer tells the account holder when they last signed in and how many attempts failed since. Every attempt is audited.\n\n' +
      'For a role in SECOND_FACTOR_ROLES (default supervisor, records_officer, auditor, admin), or an account that enrolled a factor, a right password answers `{ factorRequired, challenge }` and no token: `enrol` (POST /auth/factor/enrol, then POST /auth/factor) or `totp` (POST /auth/factor).',
  })
  @ApiExtraModels(LoginResponseDto, FactorChallengeDto)
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(LoginResponseDto) }, { $ref: getSchemaPath(FactorChallengeDto) }] } })
  @ApiErrors([400, 401, 423, 429])
  login(@Body() body: LoginDto, @Req() req: Request): Promise<LoginResult | FactorChallenge> {
    return this.logins.login(body.username, body.password, client(req));
  }

  @Public()
  @Post('factor/enrol')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Enrol a TOTP second factor (with an `enrol` challenge)',
    description:
      'A new secret (RFC 6238, SHA-1, 6 digits, 30 s) to add to an authenticator app, as text, otpauth URL and QR code. It is kept only until a code from it is sent to POST /auth/factor with the same challenge.',
  })
  @ApiOkResponse({ type: EnrolmentDto })
  @ApiErrors([400, 401])
  enrol(@Body() body: ChallengeDto): Promise<EnrolmentDto> {
    return this.logins.enrol(body.challenge);
  }

  @Public()
  @Post('factor')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Second step of sign-in: a TOTP code or a recovery code',
    description:
      'Completes the sign-in the challenge names. A TOTP code is accepted once (a replayed code is refused); a recovery code works once. Wrong codes are throttled like passwords (429/423), at most 5 per challenge, counted for the account holder and audited. After enrolment the answer carries ten recovery codes, shown this once.',
  })
  @ApiOkResponse({ type: FactorResponseDto })
  @ApiErrors([400, 401, 423, 429])
  factor(@Body() body: FactorDto, @Req() req: Request): Promise<LoginResult> {
    return this.logins.factor(body.challenge, body.code, client(req));
  }

  @Public()
  @Post('factor/passkey/options')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Second step with a passkey: the WebAuthn options',
    description:
      "For a challenge whose answer said `passkey: true`: options for the browser's navigator.credentials.get, naming the member's own passkeys.",
  })
  @ApiOkResponse({ schema: { type: 'object', additionalProperties: true } })
  @ApiErrors([400, 401])
  passkeyOptions(@Body() body: ChallengeDto): Promise<object> {
    return this.logins.passkeyOptions(body.challenge);
  }

  @Public()
  @Post('factor/passkey')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Second step with a passkey: the signed answer',
    description:
      "Checked against the member's credential (public key, signature counter), the challenge, the console origin and the relying party (WEBAUTHN_ORIGINS, WEBAUTHN_RP_ID). Failures are throttled and audited like codes.",
  })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiErrors([400, 401, 423, 429])
  passkey(@Body() body: PasskeyFactorDto, @Req() req: Request): Promise<LoginResult> {
    return this.logins.passkey(body.challenge, body.response as never, client(req));
  }

  @Get('passkeys')
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Your passkeys' })
  @ApiOkResponse({ type: PasskeyListDto })
  @ApiErrors([401])
  async listPasskeys(@CurrentUser() user: Principal): Promise<PasskeyListDto> {
    return { items: (await this.staff.passkeys(user.id)).map((p) => ({ id: p.id, createdAt: p.createdAt, lastUsedAt: p.lastUsedAt })) };
  }

  @Post('passkeys/options')
  @HttpCode(200)
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Add a passkey: the WebAuthn options for navigator.credentials.create (they last 5 minutes)' })
  @ApiOkResponse({ schema: { type: 'object', additionalProperties: true } })
  @ApiErrors([401])
  passkeyRegistrationOptions(@CurrentUser() user: Principal): Promise<object> {
    return this.passkeyRegistry.registrationOptions(user);
  }

  @Post('passkeys')
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Add a passkey: the browser's answer",
    description:
      'Checked against the challenge, the origin and the relying party; only the public key is kept. From the next sign-in it may be used in place of a code. Audited.',
  })
  @ApiCreatedResponse({ schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } })
  @ApiErrors([400, 401])
  addPasskey(@Body() body: PasskeyResponseDto, @CurrentUser() user: Principal): Promise<{ id: string }> {
    return this.passkeyRegistry.register(user, body.response as never);
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

  @Post('password')
  @HttpCode(200)
  @Roles(...ROLES)
  @SignInStep()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Change your own password',
    description:
      'The current password (or the one-time password an admin set), and a new one: at least 12 characters, not on the local breached-password list (@zxcvbn-ts/language-common, no network call), and strong enough by zxcvbn (score 3 of 4, counting your username and name as known). Stored as argon2id. Every session of yours ends (consoles disconnected); the answer carries a new token for this one. Wrong current passwords are throttled like sign-ins. Audited.',
  })
  @ApiOkResponse({ type: PasswordChangedDto })
  @ApiErrors([400, 401, 423, 429])
  async changePassword(@Body() body: ChangePasswordDto, @CurrentUser() user: Principal, @Req() req: Request): Promise<PasswordChangedDto> {
    return this.passwords.change(user, body.currentPassword, body.newPassword, client(req));
  }

  @Get('sessions')
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Your active sessions (signed in, not ended, not idle), newest first' })
  @ApiOkResponse({ type: SessionListDto })
  @ApiErrors([401])
  async listSessions(@CurrentUser() user: Principal): Promise<SessionListDto> {
    const items = await this.sessions.list(user.id);
    return { items: items.map((s) => ({ ...s, current: s.sid === user.sid })) };
  }

  @Delete('sessions/:sid')
  @HttpCode(204)
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'End one of your sessions (its consoles are disconnected at once). Audited.' })
  @ApiNoContentResponse({ description: 'Ended.' })
  @ApiErrors([400, 401, 404], { 404: 'No such session of yours.' })
  async endSession(@Param('sid') sid: string, @CurrentUser() user: Principal): Promise<void> {
    if (!/^[A-Za-z0-9_-]{10,64}$/.test(sid)) throw new BadRequestException({ message: 'sid is not a session id', fields: ['sid'] });
    if (!(await this.sessions.owns(user.id, sid))) throw new NotFoundException('no such session of yours');
    await this.sessions.end({ id: user.id, sid });
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'auth.session_ended',
      targetType: 'staff',
      targetId: user.id,
    });
  }

  @Post('logout')
  @HttpCode(204)
  @Roles(...ROLES)
  @SignInStep()
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
