import { Global, Module } from '@nestjs/common';
import { TwilioConferences } from './twilio-conferences';
import { TwilioService } from './twilio.service';

@Global()
@Module({ providers: [TwilioService, TwilioConferences], exports: [TwilioService, TwilioConferences] })
export class TwilioModule {}
