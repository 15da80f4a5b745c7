import { Module } from '@nestjs/common';
import { ENV, Env, WORDING, Wording } from '@hotline/config';
import { PseudonymModule } from '@hotline/crypto/pseudonym';
import { TwilioModule } from '@hotline/twilio';
import { PrivacyJobs } from '@hotline/jobs';
import { withTimeout } from '@hotline/observability';
import { PRIVACY_RECORDS, PrivacyRequests, RecordsSource } from '@hotline/privacy';
import { CallRecordsModule } from '../calls/call-records.module';
import { RecordsDb } from '../records-db';
import { PrivacyLineService } from './privacy-line.service';
import { PrivacySessions } from './privacy-session';
import { PrivacyTwiml } from './privacy-twiml';
import { PrivacyController, SmsStatusController } from './privacy.controller';
import { SmsStatusService } from './sms-status.service';

/** How long a privacy-line step waits for the records database before telling the caller to call again. */
const DB_MS = 5000;

/**
 * The privacy line (the phone menu here, the request logic in `@hotline/privacy`) and SMS status callbacks. Expects RecordsDb, ENV and REDIS from GatewayModule;
 * Twilio signatures are checked by CallHandlingModule's middleware (it covers every /twilio/* path).
 */
@Module({
  imports: [PseudonymModule, TwilioModule, CallRecordsModule],
  controllers: [PrivacyController, SmsStatusController],
  providers: [
    {
      provide: PrivacyTwiml,
      inject: [ENV, WORDING],
      useFactory: (env: Env, wording: Wording) => new PrivacyTwiml(env.PUBLIC_URL, wording),
    },
    PrivacySessions,
    PrivacyJobs,
    {
      provide: PRIVACY_RECORDS,
      inject: [RecordsDb],
      useFactory:
        (records: RecordsDb): RecordsSource =>
        () =>
          withTimeout(records.get(), DB_MS),
    },
    PrivacyRequests,
    PrivacyLineService,
    SmsStatusService,
  ],
})
export class PrivacyLineModule {}
