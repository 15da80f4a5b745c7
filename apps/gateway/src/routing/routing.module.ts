import { Module } from '@nestjs/common';
import { CallRecordsModule } from '../calls/call-records.module';
import { LiveModule } from '../live/live.module';
import { RoutingStateModule } from '../state/routing-state';
import { CallAnswers } from './call-answers';
import { RoutingEngine } from './routing.engine';

/** Who gets the next caller (RoutingEngine: the longest-idle operator, offers and their timeouts), and who answered (CallAnswers). */
@Module({
  imports: [RoutingStateModule, LiveModule, CallRecordsModule],
  providers: [RoutingEngine, CallAnswers],
  exports: [RoutingEngine, CallAnswers],
})
export class RoutingModule {}
