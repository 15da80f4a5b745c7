import { Body, Controller, Header, HttpCode, Post, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@hotline/auth';
import { MessagingResponse, WEBHOOK_BUDGET_MS, answerWithin } from '@hotline/twilio';
import { TwilioParams } from '../webhooks/twilio-params';
import { PrivacyLineService } from './privacy-line.service';
import { SmsStatusService } from './sms-status.service';
import {
  SmsStatusFields,
  VoicePrivacyChoiceFields,
  VoicePrivacyCodeFields,
  VoicePrivacyConfirmFields,
  VoicePrivacyFields,
  VoicePrivacyResendFields,
} from '../webhooks/twilio-fields';

/**
 * The privacy line (`/twilio/voice/privacy`, reached directly or by 9 from the main menu) and the
 * steps its TwiML leads to. Signatures are checked by TwilioSignatureMiddleware like every /twilio/* path.
 * Every step answers within its time budget (PrivacyLineService.step).
 */
@Public()
@ApiExcludeController()
@Controller('twilio/voice/privacy')
export class PrivacyController {
  constructor(private readonly line: PrivacyLineService) {}

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  privacy(@Body() body: VoicePrivacyFields): Promise<string> {
    return this.line.answer(body ?? {});
  }

  @Post('choice')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  choice(@Query() query: TwilioParams, @Body() body: VoicePrivacyChoiceFields): Promise<string> {
    return this.line.choice(query, body ?? {});
  }

  @Post('code')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  code(@Query() query: TwilioParams, @Body() body: VoicePrivacyCodeFields): Promise<string> {
    return this.line.code(query, body ?? {});
  }

  @Post('resend')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  resend(@Body() body: VoicePrivacyResendFields): Promise<string> {
    return this.line.resend(body ?? {});
  }

  @Post('confirm')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  confirm(@Body() body: VoicePrivacyConfirmFields): Promise<string> {
    return this.line.confirm(body ?? {});
  }
}

/**
 * Twilio's message status callbacks for the SMS the privacy line and the worker send; answered within
 * the webhook budget (what is not done by then goes on, and the delayed delete-sms job is there anyway).
 */
@Public()
@ApiExcludeController()
@Controller('twilio/sms')
export class SmsStatusController {
  constructor(private readonly sms: SmsStatusService) {}

  @Post('status')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async status(@Body() body: SmsStatusFields): Promise<string> {
    await answerWithin(this.sms.status(body ?? {}), WEBHOOK_BUDGET_MS, () => undefined);
    return new MessagingResponse().toString();
  }
}
