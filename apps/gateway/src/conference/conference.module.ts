import { Module } from '@nestjs/common';
import { WORDING, Wording } from '@hotline/config';
import { CallRecordsModule } from '../calls/call-records.module';
import { LiveModule } from '../live/live.module';
import { RoutingModule } from '../routing/routing.module';
import { RoutingStateModule } from '../state/routing-state';
import { CallTwiml } from '../twiml/twiml';
import { TwimlModule } from '../twiml/twiml.module';
import { CallConnector } from './call-connector';
import { ColdTransfer } from './cold-transfer';
import { ConferenceBridge } from './conference-bridge';
import { ConferenceEvents } from './conference-events';
import { ConferenceTwiml } from './conference-twiml';
import { ConferenceController } from './conference.controller';
import { HelpRequests } from './help-requests';
import { OperatorLeg } from './operator-leg';
import { Supervision } from './supervision';
import { TransferReleases } from './transfer-releases';
import { TransferTargets } from './transfer-targets';
import { Transfers } from './transfers';

/**
 * Calls that live in a Twilio conference (issue 14): connecting an accepted offer (CallConnector,
 * ConferenceBridge, OperatorLeg), Twilio's conference callbacks (ConferenceEvents), hold, warm and
 * cold transfers (Transfers, ColdTransfer, TransferReleases, TransferTargets), supervision and help
 * requests (Supervision, HelpRequests).
 */
@Module({
  imports: [RoutingStateModule, LiveModule, CallRecordsModule, RoutingModule, TwimlModule],
  controllers: [ConferenceController],
  providers: [
    {
      provide: ConferenceTwiml,
      inject: [CallTwiml, WORDING],
      useFactory: (calls: CallTwiml, wording: Wording) => new ConferenceTwiml(calls, wording),
    },
    CallConnector,
    ConferenceBridge,
    OperatorLeg,
    ConferenceEvents,
    Transfers,
    ColdTransfer,
    TransferReleases,
    TransferTargets,
    Supervision,
    HelpRequests,
  ],
  exports: [CallConnector, ConferenceBridge, Transfers, Supervision, HelpRequests],
})
export class ConferenceModule {}
