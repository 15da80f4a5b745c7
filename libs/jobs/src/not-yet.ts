/**
 * Work a job cannot do yet, and will be able to later: Twilio refuses (409, code 20009) to delete a
 * call that is in progress or ended only moments ago ("wait at least 1 minute"). A handler throws
 * this; QueueWorker puts the job back, delayed by its queue's `NotYetPolicy`, without spending one of
 * its attempts and without counting or logging it as a failure. Once the policy's rounds are spent,
 * the job fails as an ordinary failure (with `cause`): its own retries, then its audited last failure.
 */
export class NotYet extends Error {
  constructor(why: string, options?: { cause?: unknown }) {
    super(why, options);
    this.name = 'NotYet';
  }
}

/** How a queue spaces the tries of a job that throws `NotYet`: `baseMs`, doubling, at most `capMs`, for `rounds` rounds. */
export interface NotYetPolicy {
  baseMs: number;
  rounds: number;
  capMs: number;
}

/** The wait before try `round + 1` of a job put back `round` times already. */
export function notYetDelayMs(policy: NotYetPolicy, round: number): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, round));
}

/** Twilio's documented wait before a call that ended can be deleted ("at least 1 minute"). */
export const TWILIO_DELETE_RETRY_DEFAULT_MS = 60_000;

/**
 * `TWILIO_DELETE_RETRY_MS` (docs/configuration.md): the first wait before a deletion at Twilio that it
 * refused with 20009 is tried again (then doubling, up to eight times that, for eight rounds: about 47
 * minutes with the default of 60 s). Tests set it to the local peer's refusal window. A malformed
 * value stops the app at start, naming the variable.
 */
export function twilioDeleteRetryMs(env: object): number {
  const raw = (env as Record<string, unknown>).TWILIO_DELETE_RETRY_MS;
  if (raw === undefined || raw === null || raw === '') return TWILIO_DELETE_RETRY_DEFAULT_MS;
  const ms = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
  if (!Number.isInteger(ms) || ms < 100 || ms > 3_600_000)
    throw new Error('TWILIO_DELETE_RETRY_MS must be a whole number of milliseconds from 100 to 3600000 (default 60000)');
  return ms;
}

/** The policy of every queue whose jobs delete calls at Twilio. */
export function twilioDeletePolicy(env: object): NotYetPolicy {
  const baseMs = twilioDeleteRetryMs(env);
  return { baseMs, rounds: 8, capMs: baseMs * 8 };
}
