import { Module } from '@nestjs/common';
import { RoutingStateModule } from '../state/routing-state';
import { LiveEvents } from './live-events';
import { OperatorNames } from './operator-names';

/**
 * Live events, the port every other module publishes to (LiveEvents): what the consoles and
 * wallboards are told. It knows the socket namespaces only as targets (bound by the socket gateways
 * in sockets/), so it depends on no module of call handling but the shared state.
 */
@Module({
  imports: [RoutingStateModule],
  providers: [LiveEvents, OperatorNames],
  exports: [LiveEvents, OperatorNames],
})
export class LiveModule {}
