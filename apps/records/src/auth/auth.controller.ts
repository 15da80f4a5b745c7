import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  CurrentSession,
  CurrentUser,
  Principal,
  Roles,
  STEP_UP_SECONDS,
  SessionState,
  SignInStep,
  StaffService,
  StepUp,
  WhileLocked,
  steppedUp,
  SessionLedger,
} from '@hotline/auth';
import { AuditService } from '@hotline/audit';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { ROLES } from '@hotline/contract';
import { ApiErrors } from '../common/api-errors';
import {
  ChangePasswordDto,
  MeDto,
  PasskeyListDto,
  PasskeyResponseDto,
  PasswordChangedDto,
  ReauthDto,
  SessionCheckDto,
  SessionListDto,
  SteppedUpDto,
  UnlockedDto,
} from './dto';
import { PasswordChanges } from './password-changes';
import { Passkeys } from './passkeys';
import { Reauthentication } from './reauthentication';
import { client } from './sign-in.controller';

/** A signed-in member's own account and session: passkeys, who they are, the idle lock and step-up, password, sessions, sign-out (sign-in itself: SignInController). */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly staff: StaffService,
    private readonly sessions: SessionLedger,
    private readonly audit: AuditService,
    private readonly passwords: PasswordChanges,
    private readonly passkeyRegistry: Passkeys,
    private readonly reauth: Reauthentication,
    private readonly clock: Clock,
    @Inject(ENV) private readonly env: Env,
  ) {}

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
  @StepUp()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Add a passkey: the WebAuthn options for navigator.credentials.create (they last 5 minutes)',
    description: `Needs a fresh factor (step-up): this session signed in, unlocked or called POST /auth/step-up in the last ${STEP_UP_SECONDS / 60} minutes; otherwise 403 \`step_up_required\`.`,
  })
  @ApiOkResponse({ schema: { type: 'object', additionalProperties: true } })
  @ApiErrors([401, 403], { 403: '`step_up_required`: confirm with password and factor first (POST /auth/step-up); or `locked`.' })
  passkeyRegistrationOptions(@CurrentUser() user: Principal): Promise<object> {
    return this.passkeyRegistry.registrationOptions(user);
  }

  @Post('passkeys')
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Add a passkey: the browser's answer",
    description:
      'Answers the options this session asked for (POST /auth/passkeys/options), while its step-up still stands (403 `step_up_required` otherwise). Checked against the challenge, the origin and the relying party; only the public key is kept. From the next sign-in it may be used in place of a code. Audited.',
  })
  @ApiCreatedResponse({ schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } })
  @ApiErrors([400, 401, 403])
  addPasskey(
    @Body() body: PasskeyResponseDto,
    @CurrentUser() user: Principal,
    @CurrentSession() session: SessionState,
  ): Promise<{ id: string }> {
    return this.passkeyRegistry.register(user, session, body.response as never);
  }

  @Get('me')
  @Roles(...ROLES)
  @WhileLocked()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'The signed-in staff member, and whether this session is locked',
    description:
      'Served while the session is locked (`locked: true`): a console asks at start, so that a reload shows its lock. Also says which second factors unlocking and step-up ask for, and until when the last proof stands.',
  })
  @ApiOkResponse({ type: MeDto })
  @ApiErrors([401, 403])
  async me(@CurrentUser() user: Principal, @CurrentSession() session: SessionState): Promise<MeDto> {
    const account = await this.staff.findById(user.id);
    if (!account || !account.active) throw new UnauthorizedException('this account no longer exists or is inactive');
    return {
      id: account.id,
      username: account.username,
      role: account.role,
      displayName: account.displayName,
      locked: session.locked,
      factors: await this.staff.factorsOf(user.id),
      stepUpUntil: this.stepUpUntil(session),
      idleLockSeconds: this.env.CONSOLE_IDLE_LOCK_SECONDS,
    };
  }

  @Get('session')
  @Roles(...ROLES)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Whether this session may be served now',
    description:
      'Records’ own answer (its database, not Redis): 200 when the token’s session is live, unlocked, its agreement accepted and its password not to be changed; otherwise what any route would answer (401; 403 `locked`, `agreement_required`, `password_change_required`). The gateway asks at every console connection. Counts as use of the session.',
  })
  @ApiOkResponse({ type: SessionCheckDto })
  @ApiErrors([401, 403])
  session(@CurrentUser() user: Principal, @CurrentSession() session: SessionState): SessionCheckDto {
    return { sid: user.sid!, live: true, stepUpUntil: this.stepUpUntil(session) };
  }

  private stepUpUntil(session: SessionState): string | null {
    return steppedUp(session, this.clock.nowMs()) ? new Date(session.steppedUpAt! + STEP_UP_SECONDS * 1000).toISOString() : null;
  }

  @Post('lock')
  @HttpCode(204)
  @Roles(...ROLES)
  @SignInStep()
  @WhileLocked()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Lock this session (the console’s idle lock)',
    description:
      'From now on records refuses every request with this token (403 `locked`) but POST /auth/unlock, POST /auth/logout and GET /auth/me, and every gateway node refuses its socket connections (`connect_error` `locked`) and events (ack `{ ok: false, error: "locked" }`); its open consoles are told `session:locked` and closed at once. Kept in records’ database, so that nothing written to Redis unlocks it. Locking a locked session changes nothing. Audited.',
  })
  @ApiNoContentResponse({ description: 'Locked.' })
  @ApiErrors([401])
  async lock(@CurrentUser() user: Principal, @CurrentSession() session: SessionState): Promise<void> {
    if (session.locked) return;
    await this.sessions.lock(user);
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'auth.session_locked',
      targetType: 'staff',
      targetId: user.id,
    });
  }

  @Post('unlock')
  @HttpCode(200)
  @Roles(...ROLES)
  @SignInStep()
  @WhileLocked()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Unlock this session with your password (and your second factor)',
    description:
      'The password, and where the member has a second factor a TOTP or recovery code (`code`) or a passkey’s answer (`passkey`, after POST /auth/reauth/passkey-options). The same session goes on (its token is good again, its consoles may connect), and it counts as a fresh proof for step-up. Wrong answers are 400 naming the field (`reauth_failed`; `factor_required` when the factor is missing), throttled like sign-ins (429/423) and audited; the session stays locked.',
  })
  @ApiOkResponse({ type: UnlockedDto })
  @ApiErrors([400, 401, 423, 429])
  async unlock(@Body() body: ReauthDto, @CurrentUser() user: Principal, @Req() req: Request): Promise<UnlockedDto> {
    const { method } = await this.reauth.verify(user, body as never, client(req), 'unlock');
    const r = await this.sessions.reauthenticated(user, { unlock: true });
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'auth.session_unlocked',
      targetType: 'staff',
      targetId: user.id,
      detail: { method, wasLocked: r.wasLocked },
    });
    return { locked: false, stepUpUntil: new Date(r.steppedUpAt + STEP_UP_SECONDS * 1000).toISOString() };
  }

  @Post('step-up')
  @HttpCode(200)
  @Roles(...ROLES)
  @SignInStep()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Confirm it is you (step-up) before adding a passkey or changing your password',
    description: `The password, and the second factor where the member has one (as POST /auth/unlock). For the next ${STEP_UP_SECONDS / 60} minutes this session may add a passkey and (with a factor) change its password; a bearer token alone may not. Wrong answers are 400 naming the field, throttled like sign-ins (429/423) and audited.`,
  })
  @ApiOkResponse({ type: SteppedUpDto })
  @ApiErrors([400, 401, 403, 423, 429])
  async stepUp(@Body() body: ReauthDto, @CurrentUser() user: Principal, @Req() req: Request): Promise<SteppedUpDto> {
    const { method } = await this.reauth.verify(user, body as never, client(req), 'step_up');
    const r = await this.sessions.reauthenticated(user, { unlock: false });
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'auth.stepped_up',
      targetType: 'staff',
      targetId: user.id,
      detail: { method },
    });
    return { stepUpUntil: new Date(r.steppedUpAt + STEP_UP_SECONDS * 1000).toISOString() };
  }

  @Post('reauth/passkey-options')
  @HttpCode(200)
  @Roles(...ROLES)
  @SignInStep()
  @WhileLocked()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Unlock or step up with a passkey: the WebAuthn options',
    description:
      "Options for the browser's navigator.credentials.get naming the member's own passkeys; the answer goes to POST /auth/unlock or /auth/step-up as `passkey`, with the password. They last 5 minutes and are good once.",
  })
  @ApiOkResponse({ schema: { type: 'object', additionalProperties: true } })
  @ApiErrors([400, 401])
  reauthPasskeyOptions(@CurrentUser() user: Principal): Promise<object> {
    return this.reauth.passkeyOptions(user);
  }

  @Post('password')
  @HttpCode(200)
  @Roles(...ROLES)
  @SignInStep()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Change your own password',
    description: `The current password (or the one-time password an admin set), and a new one: at least 12 characters, not on the local breached-password list (@zxcvbn-ts/language-common, no network call), and strong enough by zxcvbn (score 3 of 4, counting your username and name as known). Stored as argon2id. A member with a second factor must have proved it in the last ${STEP_UP_SECONDS / 60} minutes (sign-in, unlock or POST /auth/step-up): 403 \`step_up_required\` otherwise. Every session of yours ends (consoles disconnected); the answer carries a new token for this one. Wrong current passwords are throttled like sign-ins. Audited.`,
  })
  @ApiOkResponse({ type: PasswordChangedDto })
  @ApiErrors([400, 401, 403, 423, 429])
  async changePassword(
    @Body() body: ChangePasswordDto,
    @CurrentUser() user: Principal,
    @CurrentSession() session: SessionState,
    @Req() req: Request,
  ): Promise<PasswordChangedDto> {
    return this.passwords.change(user, session, body.currentPassword, body.newPassword, client(req));
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
  @WhileLocked()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Sign out',
    description:
      'Ends this session on the server (records’ database, then the Redis copy every app reads): the token is refused from now on by every app, and the consoles it opened are disconnected. Served while locked. Audited.',
  })
  @ApiNoContentResponse({ description: 'Signed out.' })
  @ApiErrors([401])
  async logout(@CurrentUser() user: Principal): Promise<void> {
    await this.sessions.end(user);
    await this.audit.append({ actorId: user.id, actorRole: user.role, action: 'auth.logout', targetType: 'staff', targetId: user.id });
  }
}
