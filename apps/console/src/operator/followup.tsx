import { useState } from 'preact/hooks';
import { dateTime } from '../format';
import { scheduleFollowup } from '../rescue-api';
import type { Session } from '../session';
import { ErrorText } from '../ui';

/**
 * At wrap-up: a follow-up call, only if the caller agreed (the operator asked them, in the words of
 * `overflow.followupConsent`). Records reads the number from Twilio and keeps it encrypted under the
 * call's key; it shows in the callback list at its time, this operator first.
 */
export function Followup(props: { session: Session; callId: string }) {
  const [agreed, setAgreed] = useState(false);
  const [dueAt, setDueAt] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const schedule = async (e: Event) => {
    e.preventDefault();
    if (!agreed) return setError('Schedule a follow-up only when the caller agreed to it.');
    setBusy(true);
    setError(null);
    try {
      setDueAt((await scheduleFollowup(props.session.token, props.callId)).dueAt);
    } catch (err) {
      setError(`No follow-up was scheduled: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  if (dueAt)
    return (
      <p class="muted" role="status">
        Follow-up call scheduled for {dateTime(dueAt)}. It will appear in your callback list then.
      </p>
    );
  return (
    <form class="followup" onSubmit={schedule}>
      <label class="check">
        <input type="checkbox" checked={agreed} onChange={(e) => setAgreed(e.currentTarget.checked)} />
        The caller agreed to a follow-up call
      </label>
      <ErrorText error={error} />
      <button type="submit" class="button" disabled={busy}>
        Schedule follow-up
      </button>
    </form>
  );
}
