import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { TokenModule } from '@hotline/auth';
import { ENV, Env, WORDING, Wording } from '@hotline/config';
import { PseudonymModule } from '@hotline/crypto/pseudonym';
import { CallRecordJobs } from '@hotline/jobs';
import { TwilioModule } from '@hotline/twilio';
import { CallRecordsService } from './calls/call-records.service';
import { CallRecordsWorker } from './calls/call-records.worker';
import { LiveEvents } from './live/live-events';
import { SocketSessions } from './live/socket-auth';
import { OperatorGateway } from './live/operator.gateway';
import { OperatorNames } from './live/operator-names';
import { SupervisorGateway } from './live/supervisor.gateway';
// The privacy line (issue 6) lives in its own module; the signature middleware below covers its paths too.
import { PrivacyLineModule } from './privacy/privacy-line.module';
// Overflow, callbacks and active rescue's caller location (issue 15): their own module files.
import { OverflowController } from './overflow/overflow.controller';
import { overflowProviders } from './overflow/overflow.providers';
import { CallAnswers } from './routing/call-answers';
import { CallConnector } from './routing/call-connector';
import { RoutingEngine } from './routing/routing.engine';
import { routingProviders } from './routing/routing.providers';
import { CallFlowService } from './telephony/call-flow.service';
import { TwilioSignatureMiddleware } from './telephony/twilio-signature.middleware';
import { CallTwiml } from './telephony/twiml';
import { RecordingController, VoiceController } from './telephony/voice.controller';
import { ConferenceCalls } from './conference/conference-calls.service';
import { ConferenceController } from './conference/conference.controller';
import { ConferenceTwiml } from './conference/conference-twiml';
import { VoiceTokenController } from './voice/voice-token.controller';

/**
 * Call handling: Twilio webhooks and the call flow, routing in Redis, the `/operator` and
 * `/supervisor` namespaces, the voice token. Expects RecordsDb, ENV and REDIS from GatewayModule.
 */
@Module({
  imports: [TokenModule, PseudonymModule, TwilioModule, PrivacyLineModule],
  controllers: [VoiceController, RecordingController, VoiceTokenController, OverflowController, ConferenceController],
  providers: [
    ...routingProviders,
    { provide: CallTwiml, inject: [ENV, WORDING], useFactory: (env: Env, wording: Wording) => new CallTwiml(env.PUBLIC_URL, wording) },
    {
      provide: ConferenceTwiml,
      inject: [CallTwiml, WORDING],
      useFactory: (calls: CallTwiml, wording: Wording) => new ConferenceTwiml(calls, wording),
    },
    ConferenceCalls,
    ...overflowProviders,
    CallRecordJobs,
    CallRecordsService,
    CallRecordsWorker,
    LiveEvents,
    RoutingEngine,
    CallAnswers,
    CallConnector,
    CallFlowService,
    OperatorNames,
    SocketSessions,
    OperatorGateway,
    SupervisorGateway,
    TwilioSignatureMiddleware,
  ],
})
export class CallHandlingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TwilioSignatureMiddleware).forRoutes({ path: 'twilio/*path', method: RequestMethod.ALL });
  }
}
