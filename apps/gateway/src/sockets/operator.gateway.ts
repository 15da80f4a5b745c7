import { Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import {
  NAMESPACES,
  NAMESPACE_ROLES,
  OperatorAck,
  OperatorClientEvents,
  OperatorClientMessages,
  OperatorServerEvents,
  OperatorStatus,
  TransferTarget,
  isId,
} from '@hotline/contract';
import { RoutingStore } from '@hotline/routing';
import { CallConnector } from '../conference/call-connector';
import { RoutingEngine } from '../routing/routing.engine';
import { CallRecordsService } from '../calls/call-records.service';
import { CallAnswers } from '../routing/call-answers';
import { ConferenceBridge } from '../conference/conference-bridge';
import { HelpRequests } from '../conference/help-requests';
import { Transfers } from '../conference/transfers';
import { LiveEvents, OperatorNamespace, offeredPayload, operatorRoom } from '../live/live-events';
import { OperatorNames } from '../live/operator-names';
import { SocketData, SocketSessions } from './socket-auth';

type OperatorSocket = Socket<OperatorClientEvents, OperatorServerEvents, Record<string, never>, SocketData>;

/** `@SubscribeMessage` for an `/operator` client event, its name checked against the contract. */
const OnOperator = (event: keyof OperatorClientMessages) => SubscribeMessage(event);

const CATEGORY = /^[A-Za-z0-9 _-]{1,64}$/;

function callIdOf(p: unknown): string | null {
  const id = (p as { callId?: unknown } | null)?.callId;
  return typeof id === 'string' && isId(id) ? id : null;
}

/**
 * `/operator`: an operator's live link. Handlers return their ack. State lives in Redis; this node
 * keeps only sockets. A dropped console keeps its state for the grace period (an offer it held is
 * revoked at once and goes to the next operator).
 */
@WebSocketGateway({ namespace: NAMESPACES.operator })
export class OperatorGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(OperatorGateway.name);

  constructor(
    private readonly sockets: SocketSessions,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
    private readonly engine: RoutingEngine,
    private readonly connector: CallConnector,
    private readonly records: CallRecordsService,
    private readonly names: OperatorNames,
    private readonly bridge: ConferenceBridge,
    private readonly transfers: Transfers,
    private readonly helpRequests: HelpRequests,
    private readonly answers: CallAnswers,
  ) {}

  afterInit(ns: OperatorNamespace): void {
    ns.use(this.sockets.auth(NAMESPACE_ROLES[NAMESPACES.operator]));
    this.live.bindOperators(ns);
  }

  handleConnection(socket: OperatorSocket): void {
    const me = socket.data.principal;
    // Message handlers are bound right after this returns; they wait for `ready`.
    socket.data.ready = (async () => {
      await socket.join(operatorRoom(me.id));
      const state = await this.store.operatorConnected(me.id, await this.names.of(me));
      socket.emit(
        'status',
        state.status === 'away' && state.reason ? { status: state.status, reason: state.reason } : { status: state.status },
      );
      if (state.callId) await this.resume(socket, state.status, state.callId);
      if (state.status === 'available') this.engine.kick();
    })().catch((e) => this.logger.warn(`operator ${me.id} not registered: ${(e as Error).message}`));
  }

  async handleDisconnect(socket: OperatorSocket): Promise<void> {
    const me = socket.data.principal;
    if (!me) return;
    await socket.data.ready;
    try {
      const r = await this.store.operatorDisconnected(me.id);
      if (r.revokedCallId) this.engine.kick();
    } catch (e) {
      this.logger.warn(`operator ${me.id} disconnect not recorded: ${(e as Error).message}`);
    }
  }

  /** A reconnecting console gets back the offer or call it holds. */
  private async resume(socket: OperatorSocket, status: OperatorStatus, callId: string): Promise<void> {
    const call = await this.store.call(callId);
    if (!call) return;
    if (status === 'offered' && call.state === 'offered' && call.offerExpiresAt) {
      socket.emit('call:offered', offeredPayload(callId, call.offerExpiresAt, call.enqueuedAt));
    } else if (status === 'on_call') {
      const caller = await this.answers.callerHint(call.pseudonym, callId);
      socket.emit('call:connected', caller ? { callId, caller } : { callId });
      await this.bridge.resume(socket.data.principal.id, callId);
    } else if (status === 'wrap_up') {
      socket.emit('call:ended', { callId });
    }
  }

  @OnOperator('status:set')
  async setStatus(@ConnectedSocket() socket: OperatorSocket, @MessageBody() body: unknown): Promise<OperatorAck<'status:set'>> {
    const want = (body as { status?: unknown } | null)?.status;
    if (want !== 'available' && want !== 'away') return { ok: false, error: 'status must be available or away' };
    await socket.data.ready;
    const me = socket.data.principal.id;
    try {
      const r = await this.store.setStatus(me, want);
      if (!r.ok) return { ok: false, status: r.status, error: `cannot change status while ${r.status.replace('_', ' ')}` };
      if (r.revokedCallId) this.live.revoked(me, r.revokedCallId, 'declined');
      this.live.toOperator(me, 'status', { status: r.status });
      this.engine.kick();
      return { ok: true, status: r.status };
    } catch (e) {
      return { ok: false, error: 'routing is unavailable; try again' };
    }
  }

  @OnOperator('call:accept')
  async accept(@ConnectedSocket() socket: OperatorSocket, @MessageBody() body: unknown): Promise<OperatorAck<'call:accept'>> {
    const callId = callIdOf(body);
    if (!callId) return { ok: false, error: 'callId must be a call id' };
    await socket.data.ready;
    try {
      return await this.connector.accept(socket.data.principal.id, callId);
    } catch (e) {
      this.logger.warn(`accept of call ${callId} failed: ${(e as Error).message}`);
      return { ok: false, error: 'routing is unavailable; try again' };
    }
  }

  @OnOperator('call:decline')
  async decline(@ConnectedSocket() socket: OperatorSocket, @MessageBody() body: unknown): Promise<OperatorAck<'call:decline'>> {
    const callId = callIdOf(body);
    if (!callId) return { ok: false, error: 'callId must be a call id' };
    await socket.data.ready;
    try {
      return (await this.connector.decline(socket.data.principal.id, callId)) ? { ok: true } : { ok: false, error: 'not_offered' };
    } catch {
      return { ok: false, error: 'routing is unavailable; try again' };
    }
  }

  @OnOperator('wrapup:done')
  async wrapUpDone(@ConnectedSocket() socket: OperatorSocket, @MessageBody() body: unknown): Promise<OperatorAck<'wrapup:done'>> {
    const callId = callIdOf(body);
    if (!callId) return { ok: false, error: 'callId must be a call id' };
    const raw = (body as { category?: unknown }).category;
    if (raw !== undefined && (typeof raw !== 'string' || !CATEGORY.test(raw)))
      return { ok: false, error: 'category must be up to 64 letters, digits, spaces, - or _' };
    await socket.data.ready;
    const me = socket.data.principal.id;
    try {
      const r = await this.store.wrapUpDone(me, callId);
      if (r !== 'ok') return { ok: false, error: r };
      this.live.toOperator(me, 'status', { status: 'available' });
      this.engine.kick();
      if (typeof raw === 'string') await this.records.event({ kind: 'wrapup', callId, operatorId: me, category: raw });
      return { ok: true };
    } catch {
      return { ok: false, error: 'routing is unavailable; try again' };
    }
  }

  // ---- calls as conferences (issue 14) ---------------------------------------------------------

  /** Runs a conference action for this operator; Twilio or Redis trouble is an error ack, never a throw. */
  private async act<T extends { ok: boolean }>(
    socket: OperatorSocket,
    what: string,
    callId: string,
    fn: (me: string) => Promise<T>,
  ): Promise<T | { ok: false; error: string }> {
    await socket.data.ready;
    try {
      return await fn(socket.data.principal.id);
    } catch (e) {
      this.logger.warn(`${what} of call ${callId} failed: ${(e as Error).message.slice(0, 120)}`);
      return { ok: false, error: `${what}_failed` };
    }
  }

  @OnOperator('call:hold')
  async hold(@ConnectedSocket() socket: OperatorSocket, @MessageBody() body: unknown): Promise<OperatorAck<'call:hold'>> {
    const callId = callIdOf(body);
    if (!callId) return { ok: false, error: 'callId must be a call id' };
    const hold = (body as { hold?: unknown }).hold;
    if (typeof hold !== 'boolean') return { ok: false, error: 'hold must be true or false' };
    return this.act(socket, 'hold', callId, (me) => this.bridge.hold(me, callId, hold));
  }

  @OnOperator('call:transfer')
  async transfer(@ConnectedSocket() socket: OperatorSocket, @MessageBody() body: unknown): Promise<OperatorAck<'call:transfer'>> {
    const callId = callIdOf(body);
    if (!callId) return { ok: false, error: 'callId must be a call id' };
    const { mode, to } = body as { mode?: unknown; to?: unknown };
    if (mode !== 'warm' && mode !== 'cold') return { ok: false, error: 'mode must be warm or cold' };
    let target: TransferTarget | null = null;
    if (to !== undefined && to !== null) {
      const t = to as { operatorId?: unknown; directoryId?: unknown };
      if (typeof to !== 'object' || Object.keys(to).length !== 1)
        return { ok: false, error: 'to must be { operatorId } or { directoryId }' };
      if (typeof t.operatorId === 'string' && isId(t.operatorId)) target = { operatorId: t.operatorId };
      else if (typeof t.directoryId === 'string' && /^[a-z0-9][a-z0-9-]{0,63}$/.test(t.directoryId))
        target = { directoryId: t.directoryId };
      else return { ok: false, error: 'to must be { operatorId } or { directoryId }' };
    }
    return this.act(socket, 'transfer', callId, (me) => this.transfers.transfer(me, callId, mode, target));
  }

  @OnOperator('transfer:complete')
  async completeTransfer(
    @ConnectedSocket() socket: OperatorSocket,
    @MessageBody() body: unknown,
  ): Promise<OperatorAck<'transfer:complete'>> {
    const callId = callIdOf(body);
    if (!callId) return { ok: false, error: 'callId must be a call id' };
    return this.act(socket, 'transfer', callId, (me) => this.transfers.complete(me, callId));
  }

  @OnOperator('help:request')
  async help(@ConnectedSocket() socket: OperatorSocket, @MessageBody() body: unknown): Promise<OperatorAck<'help:request'>> {
    const callId = callIdOf(body);
    if (!callId) return { ok: false, error: 'callId must be a call id' };
    return this.act(socket, 'help', callId, (me) => this.helpRequests.help(me, callId));
  }
}
