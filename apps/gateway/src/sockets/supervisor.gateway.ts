import { Logger } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import {
  NAMESPACES,
  NAMESPACE_ROLES,
  SupervisorAck,
  SupervisorClientEvents,
  SupervisorClientMessages,
  SupervisorServerEvents,
  isId,
} from '@hotline/contract';
import { REASON_MAX } from '../conference/conference-common';
import { Supervision } from '../conference/supervision';
import { LiveEvents, SupervisorNamespace, WALLBOARD_ROOM, supervisorRoom } from '../live/live-events';
import { SocketData, SocketSessions } from './socket-auth';

type SupervisorSocket = Socket<SupervisorClientEvents, SupervisorServerEvents, Record<string, never>, SocketData>;

/** `@SubscribeMessage` for a `/supervisor` client event, its name checked against the contract. */
const OnSupervisor = (event: keyof SupervisorClientMessages) => SubscribeMessage(event);

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
    private readonly live: LiveEvents,
    private readonly supervision: Supervision,
  ) {}

  afterInit(ns: SupervisorNamespace): void {
    ns.use(this.sockets.auth(NAMESPACE_ROLES[NAMESPACES.supervisor]));
    this.live.bindSupervisors(ns);
  }

  async handleConnection(socket: SupervisorSocket): Promise<void> {
    try {
      await socket.join([WALLBOARD_ROOM, supervisorRoom(socket.data.principal.id)]);
      socket.emit('queue:stats', await this.live.snapshot());
    } catch (e) {
      this.logger.warn(`no queue stats for a new wallboard: ${(e as Error).message}`);
    }
  }

  /**
   * Listen (muted), coach (heard by the operator only) or join (barge) a live call, with a stated
   * reason: audited like a break-glass read before the supervisor's leg is dialled. Supervisors only
   * (an admin sees the wallboard but does not listen to callers).
   */
  @OnSupervisor('call:supervise')
  async supervise(@ConnectedSocket() socket: SupervisorSocket, @MessageBody() body: unknown): Promise<SupervisorAck<'call:supervise'>> {
    const me = socket.data.principal;
    if (me.role !== 'supervisor') return { ok: false, error: 'forbidden: supervisors only' };
    const { callId, mode, reason } = (body ?? {}) as { callId?: unknown; mode?: unknown; reason?: unknown };
    if (typeof callId !== 'string' || !isId(callId)) return { ok: false, error: 'callId must be a call id' };
    if (mode !== 'listen' && mode !== 'coach' && mode !== 'join') return { ok: false, error: 'mode must be listen, coach or join' };
    const why = typeof reason === 'string' ? reason.trim() : '';
    if (why.length < 3 || why.length > REASON_MAX) return { ok: false, error: `reason is required (3 to ${REASON_MAX} characters)` };
    try {
      return await this.supervision.supervise(me.id, callId, mode, why);
    } catch (e) {
      this.logger.warn(`supervision of call ${callId} failed: ${(e as Error).message.slice(0, 120)}`);
      return { ok: false, error: 'supervision_failed' };
    }
  }

  @OnSupervisor('call:unsupervise')
  async unsupervise(@ConnectedSocket() socket: SupervisorSocket, @MessageBody() body: unknown): Promise<SupervisorAck<'call:unsupervise'>> {
    const callId = (body as { callId?: unknown } | null)?.callId;
    if (typeof callId !== 'string' || !isId(callId)) return { ok: false, error: 'callId must be a call id' };
    try {
      return await this.supervision.unsupervise(socket.data.principal.id, callId);
    } catch (e) {
      this.logger.warn(`end of supervision of call ${callId} failed: ${(e as Error).message.slice(0, 120)}`);
      return { ok: false, error: 'supervision_failed' };
    }
  }
}
