import type { EscalationAlert } from './console-events';

/**
 * Redis pub/sub channel by which records (and the worker) tell gateways about things the
 * console must show at once. Payloads carry ids and levels only, never content.
 */
export const ALERTS_CHANNEL = 'hotline:alerts';

export type AlertMessage = { type: 'escalation'; alert: EscalationAlert };
