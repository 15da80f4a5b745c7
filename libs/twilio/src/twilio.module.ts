import { Global, Module } from '@nestjs/common';
import { OutboundPacer } from './outbound-pacer';
import { TwilioConferences } from './twilio-conferences';
import { TwilioService } from './twilio.service';

@Global()
@Module({
  providers: [OutboundPacer, TwilioService, TwilioConferences],
  exports: [OutboundPacer, TwilioService, TwilioConferences],
})
export class TwilioModule {}
