import { Body, Controller, Header, HttpCode, Post, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@hotline/auth';
import { CallTwiml } from '../telephony/twiml';
import { ConferenceCalls, TwilioParams } from './conference-calls.service';
import { ConferenceTwiml } from './conference-twiml';

/**
 * Twilio's conference webhooks: conference and participant status callbacks, a leg's call
 * progress, hold music. Signatures are checked by TwilioSignatureMiddleware (every /twilio/* path).
 */
@Public()
@ApiExcludeController()
@Controller('twilio/conference')
export class ConferenceController {
  constructor(
    private readonly calls: ConferenceCalls,
    private readonly twiml: ConferenceTwiml,
  ) {}

  @Post('status')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async status(@Query() query: TwilioParams, @Body() body: TwilioParams): Promise<string> {
    await this.calls.status(query, body ?? {});
    return CallTwiml.empty();
  }

  @Post('leg')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async leg(@Query() query: TwilioParams, @Body() body: TwilioParams): Promise<string> {
    await this.calls.leg(query, body ?? {});
    return CallTwiml.empty();
  }

  @Post('recording')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async recording(@Query() query: TwilioParams, @Body() body: TwilioParams): Promise<string> {
    await this.calls.recording(query, body ?? {});
    return CallTwiml.empty();
  }

  @Post('hold-music')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  holdMusic(): string {
    return this.twiml.holdMusic();
  }
}
