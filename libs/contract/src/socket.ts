import type { RiskLevel } from './calls';
import type { Role } from './roles';
import type { VoiceLegAnnouncement } from './voice-legs';

/**
 * The live console's socket.io contract (DESIGN.md, "Live console" and "Contract additions"),
 * shared by the gateway and the console page so that both sides agree at compile time.
 *
 * Client-to-server events are declared with their payload and their ack; server-to-client events
 * with their payload. The socket.io event maps (`...Events`) are derived from these, so an event
 * name, a payload or an ack is spelled in this file only.
 */

// ---- namespaces ---------------------------------------------------------------------------------

export const NAMESPACES = { operator: '/operator', supervisor: '/supervisor' } as const;
export type ConsoleNamespace = (typeof NAMESPACES)[keyof typeof NAMESPACES];

/** Who may connect to each namespace; any other role (or no valid token) gets a `connect_error`. */
export const NAMESPACE_ROLES: { readonly [N in ConsoleNamespace]: readonly Role[] } = {
  '/operator': ['operator', 'supervisor'],
  '/supervisor': ['supervisor', 'admin'],
};

// ---- acks ---------------------------------------------------------------------------------------

type Nothing = Record<never, never>;

/** Every ack is `{ ok: true, ... }` or `{ ok: false, error }`. */
export type AckOk<T extends object = Nothing> = { ok: true } & T;
export type AckError<E extends object = Nothing> = { ok: false; error: string } & E;
export type AckReply<T extends object = Nothing, E extends object = Nothing> = AckOk<T> | AckError<E>;
export type Ack<T> = (response: T) => void;

/** A client-to-server event: what the client sends, and what the server acks. */
interface ClientMessage {
  payload: object;
  ack: AckReply<object, object>;
}

/** socket.io's event map for client-to-server events, from their declarations. */
export type ClientEvents<M extends { [E in keyof M]: ClientMessage }> = {
  [E in keyof M]: (payload: M[E]['payload'], ack: Ack<M[E]['ack']>) => void;
};
/** socket.io's event map for server-to-client events, from their payloads. */
export type ServerEvents<M> = { [E in keyof M]: (payload: M[E]) => void };

// ---- vocabulary of the live console ---------------------------------------------------------------

/** An operator's routing state, as Redis holds it and the console shows it. */
export const OPERATOR_STATUSES = ['available', 'offered', 'on_call', 'wrap_up', 'away'] as const;
export type OperatorStatus = (typeof OPERATOR_STATUSES)[number];
/** The states an operator chooses; the others follow from offers and calls. */
export type ChosenStatus = Extract<OperatorStatus, 'available' | 'away'>;

export type OfferRevokedReason = 'timeout' | 'caller_hung_up' | 'taken_elsewhere' | 'declined' | 'disconnected' | 'connect_failed';

/** What the console may know of the caller it is connected to: a short pseudonym and their history's shape. */
export interface CallerHint {
  pseudonym: string;
  earlierCalls: number;
  lastRiskLevel: RiskLevel | null;
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
  /** Calls in a conference now (issue 14): who has it, on hold since, who supervises, help asked. Ids only. */
  liveCalls?: LiveCallSummary[];
}

/** One call in a conference, as the wallboard shows it (no caller data). */
export interface LiveCallSummary {
  callId: string;
  operatorId: string | null;
  /** Seconds on hold, or null when not on hold. */
  onHoldSeconds: number | null;
  supervision: { supervisorId: string; mode: SupervisionMode } | null;
  /** Seconds since the operator asked for help, or null. */
  helpWaitingSeconds: number | null;
  transferring: boolean;
}

/**
 * Active rescue (issue 15): an operator asked for the caller's number and location (`requested`,
 * to supervisors), or a supervisor approved it (`approved`, to the requesting operator, who then
 * reads them from records). Ids only: the number and location never travel in an event.
 */
export interface RescueAlert {
  callId: string;
  requestId: string;
  operatorId: string;
  stage: 'requested' | 'approved';
  at: string;
}

export interface EscalationAlert {
  callId: string;
  operatorId: string;
  riskLevel: RiskLevel;
  at: string;
}

/**
 * The caps on the privacy line's verification SMS (per number, per country calling code, in all,
 * each per hour): one reached may mean someone is pumping SMS through the line.
 */
export const SMS_CAPS = ['number', 'country', 'total'] as const;
export type SmsCap = (typeof SMS_CAPS)[number];

/** A cap on verification SMS was reached: which one, and when. Never a number or a pseudonym. */
export interface SmsCapAlert {
  cap: SmsCap;
  at: string;
}

/**
 * Issue 24: the caps on callbacks. `number`: callbacks one number booked (or was called back for) in
 * a sliding day; `line`: callbacks booked (or outbound callback calls placed) across the line in a
 * sliding hour. A cap reached may mean someone books callbacks to run up call charges.
 */
export const CALLBACK_CAPS = ['number', 'line'] as const;
export type CallbackCap = (typeof CALLBACK_CAPS)[number];
/** Where a cap refused: the gateway booking a callback, or records placing its call. */
export const CALLBACK_CAP_STAGES = ['booking', 'dialling'] as const;
export type CallbackCapStage = (typeof CALLBACK_CAP_STAGES)[number];

/** A cap on callbacks was reached: which, where, when. Never a number or a pseudonym. */
export interface CallbackCapAlert {
  cap: CallbackCap;
  stage: CallbackCapStage;
  at: string;
}

/** Why the reconciler refused to destroy any data key (then it destroyed none, and alerts). */
export const RECONCILE_REFUSALS = ['keystore_paired_elsewhere', 'too_many_orphans', 'records_database_unknown'] as const;
export type ReconcileRefusal = (typeof RECONCILE_REFUSALS)[number];

/** The reconciler refused to run against the data it found: someone must look before any key is destroyed. */
export interface ReconcileRefusedAlert {
  reason: ReconcileRefusal;
  at: string;
}

/** Contract additions (issue 14): how a supervisor is on a call, and where a transfer goes. */
export type SupervisionMode = 'listen' | 'coach' | 'join';
export type TransferMode = 'warm' | 'cold';
export type TransferTarget = { operatorId: string } | { directoryId: string };
/** ringing: the target's leg is called; connected: they joined (warm); completed: the call is theirs; failed: back to you. */
export type TransferState = 'ringing' | 'connected' | 'completed' | 'failed';
/** A directory entry as the console sees it: never its number. */
export interface DirectoryTarget {
  id: string;
  name: string;
  kind: string;
}

// ---- namespace /operator ------------------------------------------------------------------------

/** `/operator`, client to server, each with an ack. */
export interface OperatorClientMessages {
  'status:set': { payload: { status: ChosenStatus }; ack: AckReply<{ status: OperatorStatus }, { status?: OperatorStatus }> };
  'call:accept': { payload: { callId: string }; ack: AckReply };
  'call:decline': { payload: { callId: string }; ack: AckReply };
  'wrapup:done': { payload: { callId: string; category?: string }; ack: AckReply };
  /** Contract additions (issue 14). */
  'call:hold': { payload: { callId: string; hold: boolean }; ack: AckReply<{ onHold: boolean }> };
  'call:transfer': { payload: { callId: string; mode: TransferMode; to: TransferTarget }; ack: AckReply };
  'transfer:complete': { payload: { callId: string }; ack: AckReply };
  'help:request': { payload: { callId: string }; ack: AckReply };
}

/** `/operator`, server to client. */
/** Why the server ended a console's session (then it disconnects the socket): sign in again. */
export type SessionEndedReason =
  'signed_out' | 'deactivated' | 'role_changed' | 'expired' | 'password_changed' | 'password_reset' | 'factor_reset' | 'idle';

/**
 * Implementation's own (issue 24): the session was locked (the console's idle lock, POST
 * /auth/lock); the server closes the socket, and refuses the session's connections
 * (`connect_error` `locked`) and events (ack `{ ok: false, error: 'locked' }`) until it is unlocked
 * (POST /auth/unlock).
 */
export type SessionLockedPayload = Record<string, never>;
/**
 * Implementation's own (issue 24): a new version of the confidentiality agreement is current and
 * this member has not accepted it; the server closes the socket, and refuses their connections
 * (`connect_error` `agreement_required`) and events until they accept it (POST /agreements/:version/accept).
 */
export interface AgreementRequiredPayload {
  version: string;
}

export interface OperatorServerMessages {
  'session:ended': { reason: SessionEndedReason };
  'session:locked': SessionLockedPayload;
  'session:agreement_required': AgreementRequiredPayload;
  status: { status: OperatorStatus; reason?: string };
  'call:offered': { callId: string; offerExpiresAt: string; waitingSeconds: number };
  'call:offer_revoked': { callId: string; reason: OfferRevokedReason | string };
  'call:connected': { callId: string; caller?: CallerHint };
  /** The caller left; the operator is now in wrap-up. */
  'call:ended': { callId: string };
  /** Issue 16: a supervisor handed calls over to (`in`) or away from (`out`) this operator; ids only. */
  'calls:reassigned': { callIds: string[]; direction: 'in' | 'out' };
  /** Contract additions (issue 14): a supervisor is on the call, and how; then no longer. */
  supervision: { callId: string; mode: SupervisionMode };
  'supervision:ended': { callId: string };
  /** Issue 15: a supervisor approved this operator's rescue request; read the number from records. */
  'rescue:approved': { callId: string; requestId: string; at: string };
  /** Implementation's own (issue 14): the caller is on hold since `since` (Twilio confirmed it), or not. */
  'call:hold_state': { callId: string; onHold: boolean; since?: string };
  /** Implementation's own (issue 14): how a transfer this operator started is going. */
  'transfer:status': { callId: string; state: TransferState; mode: TransferMode; reason?: string };
  /** Implementation's own (issue 14): the operators and directory entries a call may go to (sent on connect). */
  'transfer:targets': { operators: { id: string; name: string; status: OperatorStatus }[]; directory: DirectoryTarget[] };
  /**
   * Implementation's own (issue 23): a browser leg is about to ring this console's voice device
   * (an accepted offer, a colleague's transfer, a callback it placed). Sent before Twilio dials.
   */
  'voice:leg': VoiceLegAnnouncement;
}

export type OperatorClientEvents = ClientEvents<OperatorClientMessages>;
export type OperatorServerEvents = ServerEvents<OperatorServerMessages>;
/** The ack of an `/operator` client event. */
export type OperatorAck<E extends keyof OperatorClientMessages> = OperatorClientMessages[E]['ack'];

// ---- namespace /supervisor ----------------------------------------------------------------------

/** `/supervisor`, client to server. Contract additions (issue 14). */
export interface SupervisorClientMessages {
  'call:supervise': { payload: { callId: string; mode: SupervisionMode; reason: string }; ack: AckReply };
  'call:unsupervise': { payload: { callId: string }; ack: AckReply };
}

/** `/supervisor`, server to client. */
export interface SupervisorServerMessages {
  'session:ended': { reason: SessionEndedReason };
  'session:locked': SessionLockedPayload;
  'session:agreement_required': AgreementRequiredPayload;
  /** Sent on connect and within one second of any change. */
  'queue:stats': QueueStats;
  'alert:escalation': EscalationAlert;
  /** The privacy line refused a verification SMS at one of its caps (once per cap and window). */
  'alert:sms_cap': SmsCapAlert;
  /** Issue 24: a cap on callbacks refused a booking or a call (once per cap, number or line, and window). */
  'alert:callback_cap': CallbackCapAlert;
  'alert:reconcile_refused': ReconcileRefusedAlert;
  /** Issue 15: an operator asks for the caller's number and location on an imminent-risk call. */
  'alert:rescue': { callId: string; requestId: string; operatorId: string; at: string };
  /** Contract addition (issue 14): an operator asks for help (`at`, `waitingSeconds`: the implementation's own). */
  'help:requested': { callId: string; operatorId: string; riskLevel: RiskLevel; at?: string; waitingSeconds?: number };
  /** Implementation's own (issue 23): the supervisor's leg onto a call they listen to, coach or join is about to ring. */
  'voice:leg': VoiceLegAnnouncement;
}

export type SupervisorClientEvents = ClientEvents<SupervisorClientMessages>;
export type SupervisorServerEvents = ServerEvents<SupervisorServerMessages>;
/** The ack of a `/supervisor` client event. */
export type SupervisorAck<E extends keyof SupervisorClientMessages> = SupervisorClientMessages[E]['ack'];
