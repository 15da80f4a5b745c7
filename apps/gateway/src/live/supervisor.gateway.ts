import { Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { NAMESPACES, NAMESPACE_ROLES, SupervisorClientEvents, SupervisorServerEvents } from '@hotline/contract';
import { RoutingStore } from '@hotline/routing';
import { LiveEvents, SupervisorNamespace } from './live-events';
import { SocketData, SocketSessions } from './socket-auth';

type SupervisorSocket = Socket<SupervisorClientEvents, SupervisorServerEvents, Record<string, never>, SocketData>;

/**
 * `/supervisor`: the wallboard. `queue:stats` on connect and within a second of any change
 * (coalesced in LiveEvents), computed from Redis so every node agrees; `alert:escalation` relayed
 * from records through Redis pub/sub.
 */
@WebSocketGateway({ namespace: NAMESPACES.supervisor })
export class SupervisorGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(SupervisorGateway.name);

  constructor(
    private readonly sockets: SocketSessions,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
  ) {}

  afterInit(ns: SupervisorNamespace): void {
    ns.use(this.sockets.auth(NAMESPACE_ROLES[NAMESPACES.supervisor]));
    this.live.bindSupervisors(ns);
  }

  async handleConnection(socket: SupervisorSocket): Promise<void> {
    try {
      socket.emit('queue:stats', await this.store.stats());
    } catch (e) {
      this.logger.warn(`no queue stats for a new wallboard: ${(e as Error).message}`);
    }
  }
}
