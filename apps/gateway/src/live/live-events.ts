import { Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type {
  LiveCallSummary,
  OperatorClientEvents,
  OperatorServerEvents,
  OperatorServerMessages,
  QueueStats,
  SmsCapAlert,
  ReconcileRefusedAlert,
  RescueAlert,
  SupervisorClientEvents,
  SupervisorServerEvents,
  SupervisorServerMessages,
} from '@hotline/contract';
import { RECONCILE_REFUSALS, SMS_CAPS } from '@hotline/contract';
import type { AlertMessage } from '@hotline/events';
import { ConferenceState, Offer, RoutingStore } from '@hotline/routing';

export type OperatorNamespace = Namespace<OperatorClientEvents, OperatorServerEvents>;
export type SupervisorNamespace = Namespace<SupervisorClientEvents, SupervisorServerEvents>;

export const operatorRoom = (operatorId: string) => `operator:${operatorId}`;
/** Every supervisor's wallboard, on every node (through the Redis adapter). */
export const WALLBOARD_ROOM = 'wallboard';
/** One supervisor's sockets on `/supervisor` (the voice legs of the calls they listen to). */
export const supervisorRoom = (supervisorId: string) => `supervisor:${supervisorId}`;

/** `call:offered` for an offer ending at `offerExpiresAt` of a call queued since `enqueuedAt` (epoch ms). */
export function offeredPayload(
  callId: string,
  offerExpiresAt: number,
  enqueuedAt: number,
  now = Date.now(),
): OperatorServerMessages['call:offered'] {
  return {
    callId,
    offerExpiresAt: new Date(offerExpiresAt).toISOString(),
    waitingSeconds: Math.max(0, Math.round((now - enqueuedAt) / 1000)),
  };
}

/**
 * The one place the gateway talks to consoles. Operator events go to the room `operator:<id>`
 * through the Redis adapter, so they reach the operator whichever node holds their socket.
 * Supervisor events go to this node's own sockets only: every node sends its own supervisors the
 * same Redis-computed snapshot, so nobody gets duplicates.
 */
@Injectable()
export class LiveEvents {
  private readonly logger = new Logger(LiveEvents.name);
  private operators?: OperatorNamespace;
  private supervisors?: SupervisorNamespace;
  private statsTimer?: NodeJS.Timeout;
  private statsRunning = false;
  private statsAgain = false;

  constructor(
    private readonly store: RoutingStore,
    private readonly conferences: ConferenceState,
  ) {}

  bindOperators(ns: OperatorNamespace): void {
    this.operators = ns;
  }

  bindSupervisors(ns: SupervisorNamespace): void {
    this.supervisors = ns;
  }

  toOperator<E extends keyof OperatorServerMessages>(operatorId: string, event: E, payload: OperatorServerMessages[E]): void {
    // The payload is typed by the signature above; socket.io's own generics do not narrow on E.
    const room = this.operators?.to(operatorRoom(operatorId)) as unknown as { emit(e: string, p: unknown): boolean } | undefined;
    room?.emit(event, payload);
  }

  /**
   * To the operator's sockets on this node only: for alerts every node hears on ALERTS_CHANNEL (each
   * node tells its own sockets, so nobody gets a copy per node).
   */
  private operatorsLocal<E extends keyof OperatorServerMessages>(operatorId: string, event: E, payload: OperatorServerMessages[E]): void {
    const room = this.operators?.local.to(operatorRoom(operatorId)) as unknown as { emit(e: string, p: unknown): boolean } | undefined;
    room?.emit(event, payload);
  }

  /** Sends the operator their status as Redis holds it now (after any change to it). */
  async sendStatus(operatorId: string): Promise<void> {
    try {
      const s = await this.store.operator(operatorId);
      if (s)
        this.toOperator(
          operatorId,
          'status',
          s.reason && s.status === 'away' ? { status: s.status, reason: s.reason } : { status: s.status },
        );
    } catch (e) {
      // The console asks again on reconnect; routing itself is already right in Redis.
      this.logger.warn(`status for operator ${operatorId} not sent: ${(e as Error).message}`);
    }
  }

  offered(o: Offer, now = Date.now()): void {
    this.toOperator(o.operatorId, 'status', { status: 'offered' });
    this.toOperator(o.operatorId, 'call:offered', offeredPayload(o.callId, o.offerExpiresAt, o.enqueuedAt, now));
  }

  revoked(operatorId: string, callId: string, reason: string): void {
    this.toOperator(operatorId, 'call:offer_revoked', { callId, reason });
  }

  /** To one supervisor's `/supervisor` sockets, whichever node holds them. */
  toSupervisor<E extends keyof SupervisorServerMessages>(supervisorId: string, event: E, payload: SupervisorServerMessages[E]): void {
    const room = this.supervisors?.to(supervisorRoom(supervisorId)) as unknown as { emit(e: string, p: unknown): boolean } | undefined;
    room?.emit(event, payload);
  }

  /** To every supervisor's wallboard, whichever node holds it (help requests). */
  toSupervisors<E extends keyof SupervisorServerMessages>(event: E, payload: SupervisorServerMessages[E]): void {
    const room = this.supervisors?.to(WALLBOARD_ROOM) as unknown as { emit(e: string, p: unknown): boolean } | undefined;
    room?.emit(event, payload);
  }

  /** The wallboard's snapshot: routing's, with the calls in a conference (hold, supervision, help). */
  async snapshot(now = Date.now()): Promise<QueueStats> {
    const stats = await this.store.stats();
    try {
      const secs = (t: number | null) => (t === null ? null : Math.max(0, Math.floor((now - t) / 1000)));
      stats.liveCalls = (await this.conferences.live()).map((c): LiveCallSummary => ({
        callId: c.callId,
        operatorId: c.operatorId,
        onHoldSeconds: secs(c.holdSince),
        supervision: c.supervisor ? { supervisorId: c.supervisor.id, mode: c.supervisor.mode } : null,
        helpWaitingSeconds: secs(c.helpAt),
        transferring: !!c.transfer,
      }));
    } catch (e) {
      this.logger.warn(`live calls left off the wallboard: ${(e as Error).message}`);
    }
    return stats;
  }

  get localSupervisors(): number {
    return this.supervisors?.sockets.size ?? 0;
  }

  /** Coalesces changes: one snapshot at most every 300 ms, within a second of any change. */
  statsChanged(): void {
    if (!this.localSupervisors || this.statsTimer) return;
    this.statsTimer = setTimeout(() => {
      this.statsTimer = undefined;
      void this.pushStats();
    }, 300);
  }

  async pushStats(): Promise<void> {
    if (!this.supervisors || !this.localSupervisors) return;
    if (this.statsRunning) {
      this.statsAgain = true;
      return;
    }
    this.statsRunning = true;
    try {
      do {
        this.statsAgain = false;
        const stats: QueueStats = await this.snapshot();
        this.supervisors.local.emit('queue:stats', stats);
      } while (this.statsAgain);
    } catch (e) {
      this.logger.warn(`queue stats not sent: ${(e as Error).message}`);
    } finally {
      this.statsRunning = false;
    }
  }

  /** Relays an alert that records published on ALERTS_CHANNEL; anything malformed is dropped. */
  relayAlert(raw: string): void {
    let msg: AlertMessage;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg?.type === 'sms_cap') return this.relaySmsCap(msg.alert);
    if (msg?.type === 'reconcile_refused') return this.relayReconcileRefused(msg.alert);
    if (msg?.type === 'rescue') return this.relayRescue(msg.alert);
    if (msg?.type === 'calls_reassigned') return this.relayReassigned(msg.alert);
    const a = msg?.alert;
    if (
      msg?.type !== 'escalation' ||
      !a ||
      typeof a.callId !== 'string' ||
      typeof a.operatorId !== 'string' ||
      typeof a.riskLevel !== 'string'
    )
      return;
    this.supervisors?.local.emit('alert:escalation', {
      callId: a.callId,
      operatorId: a.operatorId,
      riskLevel: a.riskLevel,
      at: typeof a.at === 'string' ? a.at : new Date().toISOString(),
    });
  }

  /** Active rescue: a request to the supervisors, an approval to the requesting operator. Ids only. */
  private relayRescue(a: RescueAlert | undefined): void {
    const uuid = /^[0-9a-f-]{36}$/;
    if (!a || !uuid.test(String(a.callId)) || !uuid.test(String(a.requestId)) || !uuid.test(String(a.operatorId))) return;
    const at = typeof a.at === 'string' ? a.at : new Date().toISOString();
    if (a.stage === 'requested')
      this.supervisors?.local.emit('alert:rescue', { callId: a.callId, requestId: a.requestId, operatorId: a.operatorId, at });
    else if (a.stage === 'approved') this.operatorsLocal(a.operatorId, 'rescue:approved', { callId: a.callId, requestId: a.requestId, at });
  }

  /** The privacy line reached a cap on verification SMS: which cap only. */
  private relaySmsCap(a: SmsCapAlert | undefined): void {
    if (!a || !SMS_CAPS.includes(a.cap)) return;
    this.supervisors?.local.emit('alert:sms_cap', { cap: a.cap, at: typeof a.at === 'string' ? a.at : new Date().toISOString() });
  }

  /** The worker's reconciler refused to destroy keys (wrong records database, too many orphans): the reason only. */
  private relayReconcileRefused(a: ReconcileRefusedAlert | undefined): void {
    if (!a || !RECONCILE_REFUSALS.includes(a.reason)) return;
    this.supervisors?.local.emit('alert:reconcile_refused', {
      reason: a.reason,
      at: typeof a.at === 'string' ? a.at : new Date().toISOString(),
    });
  }

  /**
   * A handover (records): both operators' consoles refresh their calls. Every node hears the channel,
   * so each tells only the sockets it holds (local), and each console is told once.
   */
  private relayReassigned(a: { fromOperatorId?: unknown; toOperatorId?: unknown; callIds?: unknown } | undefined): void {
    const ids = Array.isArray(a?.callIds) ? a.callIds.filter((c): c is string => typeof c === 'string').slice(0, 1000) : [];
    if (typeof a?.fromOperatorId !== 'string' || typeof a?.toOperatorId !== 'string' || !ids.length) return;
    const local = this.operators?.local as unknown as { to(room: string): { emit(e: string, p: unknown): boolean } } | undefined;
    local?.to(operatorRoom(a.fromOperatorId)).emit('calls:reassigned', { callIds: ids, direction: 'out' });
    local?.to(operatorRoom(a.toOperatorId)).emit('calls:reassigned', { callIds: ids, direction: 'in' });
  }

  stop(): void {
    if (this.statsTimer) clearTimeout(this.statsTimer);
    this.statsTimer = undefined;
  }
}
