import type { Clock } from '@hotline/clock';
import type { OperatorStatus } from '@hotline/contract';

/** What the routing store takes and gives (routing.store.ts): its options, a call, an offer, the results of its scripts. */

export interface RoutingOptions {
  prefix?: string;
  offerTimeoutMs: number;
  /** How long a connect (Twilio REST in flight) may take before the call goes back to the queue. */
  connectTimeoutMs?: number;
  /** How long a decliner is passed over for the call they declined (unless nobody else is free). */
  declineSkipMs?: number;
  /** How long a disconnected operator keeps their state. */
  graceMs: number;
  /** This node's id: its sockets are counted under it. One per process (random by default). */
  nodeId?: string;
  /** A node that has not beaten for this long is dead and its sockets no longer count. Beat every third of it. */
  nodeTtlMs?: number;
  serviceLevelMs: number;
  timeZone: string;
  /** Where `now` comes from when a caller gives none (tests move it instead of sleeping). */
  clock?: Clock;
}

export interface QueuedCall {
  callId: string;
  callSid: string;
  /** Keyed pseudonym, or null when the number was withheld. Never a number. */
  pseudonym: string | null;
  recordingConsent: boolean;
  enqueuedAt: number;
}

export interface Offer {
  callId: string;
  operatorId: string;
  offerExpiresAt: number;
  enqueuedAt: number;
}

export type AcceptResult =
  | { ok: true; call: { callSid: string; recordingConsent: boolean; pseudonym: string | null; enqueuedAt: number } }
  | { ok: false; error: 'already_accepted' | 'taken_elsewhere' | 'caller_hung_up' | 'not_offered' };

export interface SweepEvent {
  /** `revoked`: the offer of an operator whose last socket was on a dead node; `node_gone`: a dead node's sockets were dropped. */
  kind: 'timeout' | 'connect_stale' | 'gone' | 'revoked' | 'node_gone';
  callId: string;
  operatorId: string;
  /** For `node_gone`. */
  nodeId?: string;
}

export type CallStatusResult =
  | { outcome: 'duplicate' | 'noted' | 'unknown'; callId?: string }
  | { outcome: 'abandoned' | 'completed'; callId: string; operatorId: string | null };

export interface OperatorState {
  status: OperatorStatus;
  since: number;
  callId: string | null;
  reason: string | null;
  name: string | null;
  connections: number;
}

export interface CallState {
  callId: string;
  callSid: string;
  pseudonym: string | null;
  recordingConsent: boolean;
  enqueuedAt: number;
  state: 'waiting' | 'offered' | 'connecting' | 'connected' | 'ended';
  operatorId: string | null;
  offerExpiresAt: number | null;
}

export function pairsOf(flat: string[]): { operatorId: string; callId: string }[] {
  const out: { operatorId: string; callId: string }[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ operatorId: flat[i], callId: flat[i + 1] });
  return out;
}

export function offersOf(flat: string[]): Offer[] {
  const offers: Offer[] = [];
  for (let i = 0; i < flat.length; i += 4)
    offers.push({ callId: flat[i], operatorId: flat[i + 1], offerExpiresAt: Number(flat[i + 2]), enqueuedAt: Number(flat[i + 3]) });
  return offers;
}

/** "YYYY-MM-DD" of an instant in a time zone: the key of that day's counters. */
export function dayKey(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
