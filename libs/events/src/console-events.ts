/**
 * The live console's socket.io contract (DESIGN.md), shared by the gateway and the console page
 * so that both sides agree at compile time. Keep this file free of Node-only imports: the
 * console bundle imports it too.
 */
export type OperatorStatus = 'available' | 'offered' | 'on_call' | 'wrap_up' | 'away';
export type RiskLevel = 'none' | 'low' | 'moderate' | 'high' | 'imminent';
export type OfferRevokedReason = 'timeout' | 'caller_hung_up' | 'taken_elsewhere' | 'declined' | 'disconnected' | 'connect_failed';

export type Ack<T> = (response: T) => void;

/** Namespace `/operator`: server to client. */
export interface OperatorServerEvents {
  status: (p: { status: OperatorStatus; reason?: string }) => void;
  'call:offered': (p: { callId: string; offerExpiresAt: string; waitingSeconds: number }) => void;
  'call:offer_revoked': (p: { callId: string; reason: OfferRevokedReason | string }) => void;
  'call:connected': (p: { callId: string; caller?: { pseudonym: string; earlierCalls: number; lastRiskLevel: RiskLevel | null } }) => void;
  'call:ended': (p: { callId: string }) => void;
}

/** Namespace `/operator`: client to server, each with an ack. */
export interface OperatorClientEvents {
  'status:set': (p: { status: 'available' | 'away' }, ack: Ack<{ ok: boolean; status?: OperatorStatus; error?: string }>) => void;
  'call:accept': (p: { callId: string }, ack: Ack<{ ok: true } | { ok: false; error: string }>) => void;
  'call:decline': (p: { callId: string }, ack: Ack<{ ok: boolean; error?: string }>) => void;
  'wrapup:done': (p: { callId: string; category?: string }, ack: Ack<{ ok: boolean; error?: string }>) => void;
}

export interface QueueStats {
  waiting: number;
  longestWaitSeconds: number;
  operators: { available: number; offered: number; onCall: number; wrapUp: number; away: number };
  answeredToday: number;
  abandonedToday: number;
  /** Share of calls answered today within SERVICE_LEVEL_SECONDS (0..1), or null before any call. */
  serviceLevel: number | null;
  /** Extras for the wallboard (not in the contract's minimum): wait times only, no caller data. */
  waitingCalls?: { callId: string; waitingSeconds: number }[];
  operatorList?: { id: string; name: string; status: OperatorStatus; sinceSeconds: number }[];
}

export interface EscalationAlert {
  callId: string;
  operatorId: string;
  riskLevel: RiskLevel;
  at: string;
}

/** Namespace `/supervisor`: server to client. */
export interface SupervisorServerEvents {
  'queue:stats': (p: QueueStats) => void;
  'alert:escalation': (p: EscalationAlert) => void;
}

export type SupervisorClientEvents = Record<string, never>;

export type EventPayload<M, E extends keyof M> = M[E] extends (p: infer P, ...rest: any[]) => void ? P : never;
