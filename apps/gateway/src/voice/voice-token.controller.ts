import { Controller, Get, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { AccessGuard, CurrentUser, Principal, Roles } from '@hotline/auth';
import { TwilioNotConfiguredError, TwilioService } from '@hotline/twilio';
import { clientIdentity } from '../twiml/voice-legs';

const TTL_SECONDS = 3600;

/** `GET /voice/token`: a Twilio Voice access token for the signed-in operator's browser leg. */
@ApiTags('voice')
@ApiBearerAuth()
@UseGuards(AccessGuard)
@Controller('voice')
export class VoiceTokenController {
  constructor(private readonly twilio: TwilioService) {}

  @Get('token')
  @Roles('operator', 'supervisor')
  @ApiOkResponse({ description: '{ token, identity, expiresInSeconds }: identity is op-<operatorId>, the <Client> the gateway dials.' })
  @ApiServiceUnavailableResponse({ description: 'Twilio API key or TwiML app not configured.' })
  token(@CurrentUser() user: Principal): { token: string; identity: string; expiresInSeconds: number } {
    const identity = clientIdentity(user.id);
    try {
      return { token: this.twilio.voiceToken(identity, TTL_SECONDS), identity, expiresInSeconds: TTL_SECONDS };
    } catch (e) {
      if (e instanceof TwilioNotConfiguredError) throw new ServiceUnavailableException(e.message);
      throw e;
    }
  }
}
