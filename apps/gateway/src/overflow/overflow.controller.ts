import { Body, Controller, Header, HttpCode, Post, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@hotline/auth';
import type { TwilioParams } from '../webhooks/twilio-params';
import { CallTwiml } from '../twiml/twiml';
import { CallbackCalls } from './callback-calls';
import { OverflowService } from './overflow.service';
import {
  VoiceCallbackAnsweredFields,
  VoiceCallbackStatusFields,
  VoiceOverflowBackupDialledFields,
  VoiceOverflowCallbackConsentFields,
  VoiceOverflowChoiceFields,
  VoiceOverflowLeftFields,
  VoiceOverflowVoicemailConsentFields,
} from '../webhooks/twilio-fields';

/** Twilio's webhooks for overflow and callbacks. Signatures are checked by TwilioSignatureMiddleware (twilio/*). */
@Public()
@ApiExcludeController()
@Controller('twilio/voice')
export class OverflowController {
  constructor(
    private readonly overflow: OverflowService,
    private readonly callbacks: CallbackCalls,
  ) {}

  @Post('overflow/choice')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  choice(@Query() query: TwilioParams, @Body() body: VoiceOverflowChoiceFields): Promise<string> {
    return this.overflow.choice(query, body ?? {});
  }

  @Post('overflow/callback-consent')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  callbackConsent(@Query() query: TwilioParams, @Body() body: VoiceOverflowCallbackConsentFields): Promise<string> {
    return this.overflow.callbackConsent(query, body ?? {});
  }

  @Post('overflow/voicemail-consent')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  voicemailConsent(@Query() query: TwilioParams, @Body() body: VoiceOverflowVoicemailConsentFields): Promise<string> {
    return this.overflow.voicemailConsent(query, body ?? {});
  }

  @Post('overflow/left')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  left(@Query() query: TwilioParams, @Body() body: VoiceOverflowLeftFields): Promise<string> {
    return this.overflow.left(query, body ?? {});
  }

  @Post('overflow/voicemail-done')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  voicemailDone(): string {
    return this.overflow.voicemailDone();
  }

  @Post('overflow/backup-dialled')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  backupDialled(@Body() body: VoiceOverflowBackupDialledFields): string {
    return this.overflow.backupDialled(body ?? {});
  }

  @Post('callback/answered')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  callbackAnswered(@Query() query: TwilioParams, @Body() body: VoiceCallbackAnsweredFields): Promise<string> {
    return this.callbacks.answered(query, body ?? {});
  }

  @Post('callback/status')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async callbackStatus(@Query() query: TwilioParams, @Body() body: VoiceCallbackStatusFields): Promise<string> {
    await this.callbacks.status(query, body ?? {});
    return CallTwiml.empty();
  }
}
