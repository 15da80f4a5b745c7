import { Module } from '@nestjs/common';
import { TokenModule } from '@hotline/auth';
import { CallRecordsModule } from '../calls/call-records.module';
import { ConferenceModule } from '../conference/conference.module';
import { LiveModule } from '../live/live.module';
import { RoutingModule } from '../routing/routing.module';
import { RoutingStateModule } from '../state/routing-state';
import { OperatorGateway } from './operator.gateway';
import { SocketSessions } from './socket-auth';
import { SupervisorGateway } from './supervisor.gateway';

/** The consoles' sockets: `/operator` and `/supervisor`, signed in (SocketSessions), what they may ask, and where it goes. */
@Module({
  imports: [TokenModule, RoutingStateModule, LiveModule, CallRecordsModule, RoutingModule, ConferenceModule],
  providers: [SocketSessions, OperatorGateway, SupervisorGateway],
})
export class SocketsModule {}
