import { useEffect, useState } from 'preact/hooks';
import { timeOfDay } from '../format';
import { CallbackSummary, CallerLocation, approveRescue, callbackSummary, place } from '../rescue-api';
import type { Session } from '../session';
import { Dialog, ErrorText } from '../ui';

export interface RescueAlertItem {
  callId: string;
  requestId: string;
  operatorId: string;
  at: string;
}

/** Rescue requests waiting for a supervisor: each opens the approval dialog. */
export function RescueAlerts(props: {
  session: Session;
  alerts: RescueAlertItem[];
  operatorName: (id: string) => string;
  onDone: (requestId: string) => void;
}) {
  const [open, setOpen] = useState<RescueAlertItem | null>(null);
  if (!props.alerts.length && !open) return null;
  return (
    <section class="alerts" aria-label="Rescue requests">
      {props.alerts.map((a) => (
        <div class="alert" role="alert" key={a.requestId}>
          <div>
            <p class="alert-title">Active rescue requested</p>
            <p>
              {props.operatorName(a.operatorId)} asks for the caller’s number and location (imminent risk), at {timeOfDay(a.at)}.
            </p>
          </div>
          <button
            type="button"
            class="button danger"
            aria-label={`Review the rescue request of ${timeOfDay(a.at)}`}
            onClick={() => setOpen(a)}
          >
            Review rescue request
          </button>
        </div>
      ))}
      {open && (
        <ApproveRescue session={props.session} alert={open} onClose={() => setOpen(null)} onApproved={() => props.onDone(open.requestId)} />
      )}
    </section>
  );
}

/** Two people: the supervisor states a reason; then the number and location are read live and shown here. */
function ApproveRescue(props: { session: Session; alert: RescueAlertItem; onClose: () => void; onApproved: () => void }) {
  const [reason, setReason] = useState('');
  const [result, setResult] = useState<{ number: string | null; location: CallerLocation | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const approve = async (e: Event) => {
    e.preventDefault();
    if (reason.trim().length < 3) return setError('State the reason for approving.');
    setBusy(true);
    setError(null);
    try {
      setResult(await approveRescue(props.session.token, props.alert.callId, props.alert.requestId, reason.trim()));
      props.onApproved();
    } catch (err) {
      setError(`Not approved: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Approve an active rescue" onClose={props.onClose}>
      {result ? (
        <div aria-live="assertive">
          <dl class="disclosure">
            <dt>Caller’s number</dt>
            <dd>{result.number ?? 'Withheld by the caller'}</dd>
            <dt>Caller-ID location</dt>
            <dd>{place(result.location)}</dd>
          </dl>
          <p class="muted">
            Read now from the live call; not stored. The escalation records that it was disclosed to you and the operator.
          </p>
        </div>
      ) : (
        <form onSubmit={approve} class="breakglass">
          <p>
            The caller’s number and location will be shown to you and the operator who asked, for emergency services. Your reason is
            recorded.
          </p>
          <label for="rescue-approval-reason">Reason for approval</label>
          <textarea
            id="rescue-approval-reason"
            required
            rows={3}
            maxLength={500}
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
            autoFocus
          />
          <ErrorText error={error} />
          <div class="actions">
            <button type="submit" class="button danger" disabled={busy}>
              Approve and show
            </button>
            <button type="button" class="button" onClick={props.onClose}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

const CHOICE_LABEL: Record<string, string> = {
  keep_waiting: 'kept waiting',
  callback: 'asked for a callback',
  voicemail: 'left a voice message',
  backup_line: 'went to the backup line',
};

/** Issue 24: what each cap on callbacks refused (callbacks.caps in the routing file). */
const CAP_LABEL: Record<string, string> = {
  'booking:number': 'bookings refused (a number’s daily limit)',
  'booking:line': 'bookings refused (the line’s hourly limit)',
  'dialling:number': 'calls not placed (a number’s daily limit)',
  'dialling:line': 'calls not placed (the line’s hourly limit)',
};

/** The wallboard's callbacks: due, overdue, scheduled follow-ups; today's overflow choices; refusals at a cap. */
export function CallbackBoard(props: { session: Session }) {
  const [s, setS] = useState<CallbackSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      callbackSummary(props.session.token)
        .then((x) => live && (setS(x), setError(null)))
        .catch((e) => live && setError(`Callbacks could not be loaded: ${(e as Error).message}`));
    void load();
    const t = setInterval(load, 15_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [props.session.token]);
  return (
    <section class="panel" aria-labelledby="callbacks-board-title">
      <h2 id="callbacks-board-title">Callbacks</h2>
      <ErrorText error={error} />
      {s && (
        <>
          <p>
            <strong>{s.due}</strong> due, <strong class={s.overdue ? 'overdue' : ''}>{s.overdue}</strong> overdue, {s.dialling} being
            called, {s.scheduled} follow-ups scheduled.
          </p>
          <p class="muted">
            Offered other ways today: {s.overflowToday.offered ?? 0}
            {Object.entries(CHOICE_LABEL)
              .filter(([k]) => s.overflowToday[k])
              .map(([k, label]) => `; ${s.overflowToday[k]} ${label}`)
              .join('')}
            .
          </p>
          {!!s.capRefusalsLastHour?.length && (
            <p class="notice" role="status">
              Callback limits reached in the last hour:{' '}
              {s.capRefusalsLastHour.map((r) => `${r.count} ${CAP_LABEL[`${r.stage}:${r.cap}`] ?? `${r.stage} ${r.cap}`}`).join('; ')}. Many
              may mean someone books callbacks to run up call charges.
            </p>
          )}
        </>
      )}
    </section>
  );
}
