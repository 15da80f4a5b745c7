import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import {
  ChallengeDto,
  EnrolmentDto,
  FactorChallengeDto,
  FactorDto,
  FactorResponseDto,
  LoginDto,
  LoginResponseDto,
  PasskeyFactorDto,
} from './dto';
import { FactorChallenge, LoginResult, LoginService } from './login.service';

/** Who is asking, for throttling and the audit: the address and the browser's user agent. */
export function client(req: Request) {
  return { address: req.ip ?? req.socket.remoteAddress ?? 'unknown', userAgent: req.headers['user-agent'] };
}

/** Signing in: the password, then a second factor (TOTP, a recovery code, or a passkey), enrolling one first if there is none. */
@ApiTags('auth')
@Controller('auth')
export class SignInController {
  constructor(private readonly logins: LoginService) {}

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
}
