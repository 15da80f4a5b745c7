import { Module } from '@nestjs/common';
import { PseudonymModule } from '@hotline/crypto/pseudonym';
import { CallRecordsModule } from '../calls/call-records.module';
import { LiveModule } from '../live/live.module';
import { OverflowModule } from '../overflow/overflow.module';
import { RoutingModule } from '../routing/routing.module';
import { RoutingStateModule } from '../state/routing-state';
import { TwimlModule } from '../twiml/twiml.module';
import { CallFlowService } from './call-flow.service';
import { RecordingController, VoiceController } from './voice.controller';

/** The caller's path (CallFlowService): the notice and consent, the queue and its waiting loop, the call's end. */
@Module({
  imports: [PseudonymModule, RoutingStateModule, LiveModule, CallRecordsModule, RoutingModule, OverflowModule, TwimlModule],
  controllers: [VoiceController, RecordingController],
  providers: [CallFlowService],
})
export class TelephonyModule {}
