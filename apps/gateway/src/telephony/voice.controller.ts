import { Body, Controller, Header, HttpCode, Post, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@hotline/auth';
import { TwilioParams } from '../webhooks/twilio-params';
import { CallFlowService } from './call-flow.service';
import { CallTwiml } from '../twiml/twiml';
import {
  RecordingStatusFields,
  VoiceAnsweredFields,
  VoiceConsentFields,
  VoiceDialledFields,
  VoiceFollowUpFields,
  VoiceIncomingFields,
  VoiceResearchFields,
  VoiceStatusFields,
  VoiceWaitFields,
} from '../webhooks/twilio-fields';

/** Twilio's voice webhooks for the hotline number. Signatures are checked by TwilioSignatureMiddleware. */
@Public()
@ApiExcludeController()
@Controller('twilio/voice')
export class VoiceController {
  constructor(private readonly flow: CallFlowService) {}

  @Post('incoming')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  incoming(@Body() body: VoiceIncomingFields): string {
    return this.flow.incoming(body);
  }

  @Post('consent')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  consent(@Query() query: TwilioParams, @Body() body: VoiceConsentFields): Promise<string> {
    return this.flow.consent(query, body ?? {});
  }

  @Post('research')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  research(@Query() query: TwilioParams, @Body() body: VoiceResearchFields): Promise<string> {
    return this.flow.answer('research', query, body ?? {});
  }

  @Post('follow-up')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  followUp(@Query() query: TwilioParams, @Body() body: VoiceFollowUpFields): Promise<string> {
    return this.flow.answer('follow_up', query, body ?? {});
  }

  @Post('wait')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  wait(@Query() query: TwilioParams, @Body() body: VoiceWaitFields): Promise<string> {
    return this.flow.wait(query, body ?? {});
  }

  @Post('dialled')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  dialled(@Query() query: TwilioParams, @Body() body: VoiceDialledFields): Promise<string> {
    return this.flow.dialled(query, body ?? {});
  }

  @Post('answered')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async answered(@Query() query: TwilioParams, @Body() body: VoiceAnsweredFields): Promise<string> {
    await this.flow.answered(query, body ?? {});
    return CallTwiml.empty();
  }

  @Post('status')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async status(@Body() body: VoiceStatusFields): Promise<string> {
    await this.flow.status(body ?? {});
    return CallTwiml.empty();
  }
}

@Public()
@ApiExcludeController()
@Controller('twilio/recording')
export class RecordingController {
  constructor(private readonly flow: CallFlowService) {}

  @Post('status')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async status(@Body() body: RecordingStatusFields): Promise<string> {
    await this.flow.recording(body ?? {});
    return CallTwiml.empty();
  }
}
