import { useEffect, useState } from 'preact/hooks';
import { Disclosure, place, readRescue, requestRescue } from '../rescue-api';
import type { Session } from '../session';
import { ErrorText } from '../ui';

const POLL_MS = 2000;

/**
 * Active rescue on an imminent-risk call: the operator asks for the caller's number and location,
 * with a reason; a supervisor must approve. Once approved they are read live from Twilio and shown
 * here (and to that supervisor) only; nothing keeps them.
 */
export function RescueRequest(props: { session: Session; callId: string; ended: boolean }) {
  const [reason, setReason] = useState('');
  const [requestId, setRequestId] = useState<string | null>(null);
  const [disclosure, setDisclosure] = useState<Disclosure | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!requestId || props.ended || disclosure?.status === 'approved') return;
    const t = setInterval(async () => {
      try {
        setDisclosure(await readRescue(props.session.token, props.callId, requestId));
      } catch (e) {
        setError(`The request could not be read: ${(e as Error).message}`);
      }
    }, POLL_MS);
    return () => clearInterval(t);
  }, [requestId, disclosure?.status, props.ended, props.session.token, props.callId]);

  const ask = async (e: Event) => {
    e.preventDefault();
    if (reason.trim().length < 3) return setError('Say why a rescue is needed.');
    setBusy(true);
    setError(null);
    try {
      const r = await requestRescue(props.session.token, props.callId, reason.trim());
      setRequestId(r.id);
      setDisclosure({ status: 'requested' });
    } catch (err) {
      setError(`The request was not sent: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="rescue" aria-labelledby="rescue-title">
      <h3 id="rescue-title">Active rescue</h3>
      {!requestId ? (
        <form onSubmit={ask}>
          <p class="muted">
            If the caller will not or cannot stay safe, ask a supervisor to release their number and location for emergency services.
          </p>
          <label for="rescue-reason">Why is a rescue needed?</label>
          <textarea id="rescue-reason" rows={2} maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <ErrorText error={error} />
          <button type="submit" class="button danger" disabled={busy || props.ended}>
            Ask for number and location
          </button>
        </form>
      ) : (
        <div aria-live="assertive">
          <ErrorText error={error} />
          {props.ended ? (
            <p role="status">The call has ended: the caller’s number and location are no longer shown.</p>
          ) : disclosure?.status === 'approved' ? (
            <dl class="disclosure">
              <dt>Caller’s number</dt>
              <dd>{disclosure.number ?? 'Withheld by the caller'}</dd>
              <dt>Caller-ID location</dt>
              <dd>{place(disclosure.location)}</dd>
            </dl>
          ) : (
            <p role="status">Waiting for a supervisor to approve. Supervisors have been alerted.</p>
          )}
        </div>
      )}
    </section>
  );
}
