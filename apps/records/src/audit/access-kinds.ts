import type { AccessHow, AccessKind } from '@hotline/contract';

/**
 * THE one table that says which audit actions are an access to a call, and how. An access report
 * (breach notification) reads the trail through it and nothing else: a new kind of access (the
 * supervision of issue 14, say) is one row here.
 *  - access: read (content seen), write (content added), listen (a live call heard);
 *  - how: own_call (the operator's own call), break_glass (a supervisor's read with a stated reason,
 *    kept in the entry's detail), listen_in (a supervisor on a live call), supervision (a supervisor's
 *    act on a call's content without a break-glass read, e.g. countersigning).
 */
export type { AccessHow, AccessKind };

export const CALL_ACCESS_ACTIONS: Readonly<Record<string, { access: AccessKind; how: AccessHow }>> = {
  'call.answered': { access: 'listen', how: 'own_call' },
  'call.read': { access: 'read', how: 'own_call' },
  'call.break_glass': { access: 'read', how: 'break_glass' },
  'note.added': { access: 'write', how: 'own_call' },
  'note.amended': { access: 'write', how: 'own_call' },
  'call.assessed': { access: 'write', how: 'own_call' },
  'escalation.created': { access: 'write', how: 'own_call' },
  'escalation.cosigned': { access: 'write', how: 'supervision' },
  // Supervision of live calls (issue 14): listen, coach or join are all a listen-in.
  'call.supervised': { access: 'listen', how: 'listen_in' },
  'call.supervise': { access: 'listen', how: 'listen_in' },
  'supervision.started': { access: 'listen', how: 'listen_in' },
  'call.listen_in': { access: 'listen', how: 'listen_in' },
};

export const ACCESS_ACTIONS = Object.keys(CALL_ACCESS_ACTIONS);
