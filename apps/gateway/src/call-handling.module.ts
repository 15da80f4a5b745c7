import { Module } from '@nestjs/common';
import { TwilioModule } from '@hotline/twilio';
import { CallRecordsModule } from './calls/call-records.module';
import { ConferenceModule } from './conference/conference.module';
import { LiveModule } from './live/live.module';
import { OverflowModule } from './overflow/overflow.module';
import { PrivacyLineModule } from './privacy/privacy-line.module';
import { RoutingModule } from './routing/routing.module';
import { SocketsModule } from './sockets/sockets.module';
import { RoutingStateModule } from './state/routing-state';
import { TelephonyModule } from './telephony/telephony.module';
import { TwimlModule } from './twiml/twiml.module';
import { VoiceModule } from './voice/voice.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/**
 * Call handling, one module per folder, each importing only those below it (docs/architecture.md;
 * .dependency-cruiser.js enforces the order):
 *
 *   webhooks, twiml, state, calls   the Twilio webhook layer, TwiML, shared state in Redis, the link to records
 *   live                            the live-events port the others publish to
 *   routing                         who gets the next caller
 *   conference, overflow, privacy   the call once accepted; what a waiting caller is offered; the privacy line
 *   telephony                       the caller's path from the first ring
 *   sockets, voice                  the consoles' sockets and voice token
 *
 * Expects RecordsDb, ENV and the job queues from GatewayModule.
 */
@Module({
  imports: [
    TwilioModule,
    WebhooksModule,
    TwimlModule,
    RoutingStateModule,
    CallRecordsModule,
    LiveModule,
    RoutingModule,
    ConferenceModule,
    OverflowModule,
    PrivacyLineModule,
    TelephonyModule,
    SocketsModule,
    VoiceModule,
  ],
})
export class CallHandlingModule {}
