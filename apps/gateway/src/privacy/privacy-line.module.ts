import { Module } from '@nestjs/common';
import { ENV, Env, WORDING, Wording } from '@hotline/config';
import { PseudonymModule } from '@hotline/crypto/pseudonym';
import { TwilioModule } from '@hotline/twilio';
import { PrivacyJobs } from '@hotline/jobs';
import { PrivacyLineService } from './privacy-line.service';
import { PrivacySessions } from './privacy-session';
import { PrivacyTwiml } from './privacy-twiml';
import { PrivacyController, SmsStatusController } from './privacy.controller';
import { SmsStatusService } from './sms-status.service';

/**
 * The privacy line and SMS status callbacks. Expects RecordsDb, ENV and REDIS from GatewayModule;
 * Twilio signatures are checked by CallHandlingModule's middleware (it covers every /twilio/* path).
 */
@Module({
  imports: [PseudonymModule, TwilioModule],
  controllers: [PrivacyController, SmsStatusController],
  providers: [
    {
      provide: PrivacyTwiml,
      inject: [ENV, WORDING],
      useFactory: (env: Env, wording: Wording) => new PrivacyTwiml(env.PUBLIC_URL, wording),
    },
    PrivacySessions,
    PrivacyJobs,
    PrivacyLineService,
    SmsStatusService,
  ],
})
export class PrivacyLineModule {}
