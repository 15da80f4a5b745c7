import { Module } from '@nestjs/common';
import { ENV, Env, ROUTING_CONFIG, RoutingConfig, WORDING, Wording } from '@hotline/config';
import { PseudonymModule } from '@hotline/crypto/pseudonym';
import { CallRecordsModule } from '../calls/call-records.module';
import { LiveModule } from '../live/live.module';
import { RoutingStateModule } from '../state/routing-state';
import { TwimlModule } from '../twiml/twiml.module';
import { CallbackCapAlerts } from './callback-cap-alerts';
import { CallbackCalls } from './callback-calls';
import { OverflowController } from './overflow.controller';
import { OverflowService } from './overflow.service';
import { OverflowTwiml } from './overflow.twiml';

/** Overflow, callbacks and active rescue's caller location (issue 15): what a waiting caller is offered, and the callbacks booked. */
@Module({
  imports: [PseudonymModule, RoutingStateModule, LiveModule, CallRecordsModule, TwimlModule],
  controllers: [OverflowController],
  providers: [
    {
      provide: OverflowTwiml,
      inject: [ENV, WORDING, ROUTING_CONFIG],
      useFactory: (env: Env, wording: Wording, cfg: RoutingConfig) => new OverflowTwiml(env.PUBLIC_URL, wording, cfg),
    },
    OverflowService,
    CallbackCalls,
    CallbackCapAlerts,
  ],
  exports: [OverflowService],
})
export class OverflowModule {}
