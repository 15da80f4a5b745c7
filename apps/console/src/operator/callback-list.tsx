import { useCallback, useEffect, useState } from 'preact/hooks';
import { timeOfDay } from '../format';
import { CallbackTask, dialCallback, listCallbacks } from '../rescue-api';
import type { Session } from '../session';
import { ErrorText } from '../ui';

const REFRESH_MS = 20_000;
const KIND: Record<CallbackTask['kind'], string> = { callback: 'Callback', followup: 'Follow-up' };

/** Where a callback calls: the country's name (records reads it from the number; never the number itself). */
function countryOf(c: { country: string | null; countryName: string | null }): string {
  return c.countryName ?? c.country ?? 'country not known yet';
}

/**
 * The callbacks due now: asked for by callers who could not wait, and follow-ups whose time has come
 * (yours first). Call back sets the operator Away (no live call is offered meanwhile) and places the
 * call from the hotline number; their browser rings when the callee answers. No number is ever shown here: records opens it only to hand it to Twilio.
 * Each shows the country it calls (issue 24), so that an operator sees a call abroad before placing it.
 */
export function CallbackList(props: { session: Session; busy: boolean; beforeDial?: () => Promise<void> }) {
  const [items, setItems] = useState<CallbackTask[] | null>(null);
  const [heldBack, setHeldBack] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [dialling, setDialling] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const list = await listCallbacks(props.session.token);
      setItems(list.items);
      setHeldBack(list.priority === 'after_live' ? list.liveWaiting : 0);
      setError(null);
    } catch (e) {
      setError(`Callbacks could not be loaded: ${(e as Error).message}`);
    }
  }, [props.session.token]);

  useEffect(() => {
    void load();
    const t = setInterval(load, REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);

  const dial = async (c: CallbackTask) => {
    setDialling(c.id);
    setMessage(null);
    setError(null);
    try {
      await props.beforeDial?.();
      const placed = await dialCallback(props.session.token, c.id);
      setMessage(
        `Calling back (attempt ${c.attempts + 1} of ${c.maxAttempts}), in ${countryOf({ country: placed.country, countryName: placed.countryName })}. Your browser rings when they answer. You are Away meanwhile: switch Available on when done.`,
      );
    } catch (e) {
      setError(`The call was not placed: ${(e as Error).message}`);
    } finally {
      setDialling(null);
      void load();
    }
  };

  return (
    <section class="panel callbacks" aria-labelledby="callbacks-title">
      <h2 id="callbacks-title">Callbacks due</h2>
      <ErrorText error={error} />
      <p class="muted" role="status" aria-live="polite">
        {message ??
          (heldBack && items?.length ? `${heldBack} ${heldBack === 1 ? 'caller is' : 'callers are'} waiting live: they come first.` : '')}
      </p>
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">No callback is due.</p>
      ) : (
        <ul class="callback-list">
          {items.map((c) => (
            <li key={c.id} class={c.overdue ? 'overdue' : ''}>
              <span>
                {KIND[c.kind]} due {timeOfDay(c.dueAt)}
                {c.overdue ? ' (overdue)' : ''} · <span class="callback-country">calls {countryOf(c)}</span>
                {c.preferred ? ' · you took the first call' : ''} · attempt {c.status === 'dialling' ? c.attempts : c.attempts + 1} of{' '}
                {c.maxAttempts}
                {c.lastOutcome ? ` · last: ${c.lastOutcome.replace('-', ' ')}` : ''}
              </span>
              <button
                type="button"
                class="button"
                disabled={props.busy || heldBack > 0 || dialling !== null || c.status !== 'open'}
                aria-label={`Call back: ${KIND[c.kind].toLowerCase()} due ${timeOfDay(c.dueAt)}`}
                onClick={() => dial(c)}
              >
                {c.status === 'dialling' ? 'Calling…' : 'Call back'}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
