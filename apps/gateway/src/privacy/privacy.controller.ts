import { Controller, Header, HttpCode, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import twilio from 'twilio';
import { Public } from '@hotline/auth';
import { loadWording } from '@hotline/config';

/**
 * The privacy line (deletion by phone). A placeholder until issue 6 builds it: it answers politely
 * and hangs up. Signatures are checked by TwilioSignatureMiddleware like every /twilio/* path.
 */
@Public()
@ApiExcludeController()
@Controller('twilio/voice')
export class PrivacyController {
  @Post('privacy')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  privacy(): string {
    const w = loadWording();
    const r = new twilio.twiml.VoiceResponse();
    r.say({ voice: w.voice as any, language: w.language as any }, 'The privacy line cannot take requests at the moment. Please call again later. Thank you.');
    r.hangup();
    return r.toString();
  }
}
