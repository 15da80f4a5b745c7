import type { EscalationAlert, ReconcileRefusedAlert, RescueAlert, SmsCapAlert } from '@hotline/contract';

/**
 * Redis pub/sub channel by which records (and the worker, and the gateway's privacy line) tell
 * gateways about things the console must show at once. Payloads carry ids and levels only, never
 * content, numbers or pseudonyms.
 */
export const ALERTS_CHANNEL = 'hotline:alerts';

/**
 * The alerts channel of one Redis database. Pub/sub ignores SELECT: every client of a Redis server
 * hears every channel whatever its database, so channels carry the database number, and two
 * deployments (say staging on db 1, production on db 0) or two test runs never hear each other.
 */
export function alertsChannel(db: number | undefined): string {
  return `${ALERTS_CHANNEL}:db${db ?? 0}`;
}

export type AlertMessage =
  | { type: 'escalation'; alert: EscalationAlert }
  | { type: 'sms_cap'; alert: SmsCapAlert }
  | { type: 'reconcile_refused'; alert: ReconcileRefusedAlert }
  | { type: 'rescue'; alert: RescueAlert }
  /** Issue 16: a handover moved these calls between two operators (ids only). */
  | { type: 'calls_reassigned'; alert: { fromOperatorId: string; toOperatorId: string; callIds: string[] } };
