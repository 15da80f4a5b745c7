import { useState } from 'preact/hooks';
import { ApiError, CallDetail, cosign, getCall } from '../api';
import { CallDetailView } from '../call-detail';
import { dateTime } from '../format';
import type { Session } from '../session';
import { Dialog, ErrorText } from '../ui';

/** Break-glass: a supervisor reads a call's content only after stating why; records audits the reason. */
export function BreakGlass(props: { session: Session; callId: string; onClose: () => void }) {
  const [reason, setReason] = useState('');
  const [detail, setDetail] = useState<CallDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [cosigning, setCosigning] = useState<string | null>(null);

  const open = async (e: Event) => {
    e.preventDefault();
    if (!reason.trim()) return setError('State the reason for opening this call.');
    setBusy(true);
    setError(null);
    try {
      setDetail(await getCall(props.session.token, props.callId, reason.trim()));
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 410
          ? 'This call has been destroyed under its retention policy; only its deletion certificate remains.'
          : `The call could not be opened: ${(err as Error).message}`,
      );
    } finally {
      setBusy(false);
    }
  };

  const sign = async (escalationId: string) => {
    setCosigning(escalationId);
    setError(null);
    try {
      await cosign(props.session.token, props.callId, escalationId);
      setDetail(
        (d) =>
          d && {
            ...d,
            escalations: d.escalations?.map((x) =>
              x.id === escalationId ? { ...x, cosignedAt: new Date().toISOString(), cosignedBy: props.session.user.id } : x,
            ),
          },
      );
    } catch (err) {
      setError(`The escalation was not co-signed: ${(err as Error).message}`);
    } finally {
      setCosigning(null);
    }
  };

  if (detail) {
    return (
      <Dialog title={`Call of ${dateTime(detail.startedAt)}`} onClose={props.onClose} wide>
        <p class="muted">Opened for: “{reason.trim()}”. This access is recorded in the audit trail.</p>
        <ErrorText error={error} />
        <CallDetailView detail={detail} onCosign={sign} cosigning={cosigning} />
      </Dialog>
    );
  }
  return (
    <Dialog title="Break-glass: open a confidential call" onClose={props.onClose}>
      <form onSubmit={open} class="breakglass">
        <p>Call content is confidential. Your reason is recorded in the audit trail with your name.</p>
        <label for="bg-reason">Reason</label>
        <textarea
          id="bg-reason"
          required
          rows={3}
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          autoFocus
        />
        <ErrorText error={error} />
        <div class="actions">
          <button type="submit" class="button primary" disabled={busy}>
            Open call
          </button>
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
