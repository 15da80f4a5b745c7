import { Controller, Get, Inject, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import twilio from 'twilio';
import { AccessGuard, CurrentUser, Principal, Roles } from '@hotline/auth';
import { ENV, Env } from '@hotline/config';
import { clientIdentity } from '../telephony/twiml';

const TTL_SECONDS = 3600;

/** `GET /voice/token`: a Twilio Voice access token for the signed-in operator's browser leg. */
@ApiTags('voice')
@ApiBearerAuth()
@UseGuards(AccessGuard)
@Controller('voice')
export class VoiceTokenController {
  constructor(@Inject(ENV) private readonly env: Env) {}

  @Get('token')
  @Roles('operator', 'supervisor')
  @ApiOkResponse({ description: '{ token, identity, expiresInSeconds }: identity is op-<operatorId>, the <Client> the gateway dials.' })
  @ApiServiceUnavailableResponse({ description: 'Twilio API key or TwiML app not configured.' })
  token(@CurrentUser() user: Principal): { token: string; identity: string; expiresInSeconds: number } {
    const { TWILIO_ACCOUNT_SID: account, TWILIO_API_KEY_SID: keySid, TWILIO_API_KEY_SECRET: keySecret, TWILIO_TWIML_APP_SID: appSid } = this.env;
    if (!account || !keySid || !keySecret || !appSid) {
      throw new ServiceUnavailableException('browser calling is not configured: set TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID');
    }
    const identity = clientIdentity(user.id);
    const token = new twilio.jwt.AccessToken(account, keySid, keySecret, { identity, ttl: TTL_SECONDS });
    token.addGrant(new twilio.jwt.AccessToken.VoiceGrant({ outgoingApplicationSid: appSid, incomingAllow: true }));
    return { token: token.toJwt(), identity, expiresInSeconds: TTL_SECONDS };
  }
}
