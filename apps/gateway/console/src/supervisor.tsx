import type { EscalationAlert, QueueStats, SupervisorClientEvents, SupervisorServerEvents } from '@hotline/events';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, CallDetail, CallSummary, cosign, getCall, listCalls, listEscalations } from './api';
import { CallDetailView } from './call-detail';
import { RISK_LABEL, STATUS_LABEL, clock, dateTime, spoken, timeOfDay } from './format';
import { Session, loadStored, store } from './session';
import { useNow, useSocket } from './socket';
import { alertCue, soundReady, unlockSound } from './sound';
import { Dialog, ErrorText, TopBar } from './ui';

/** One alert per call: a later alert on the same call (assessment, then escalation) refreshes it. */
type Alert = EscalationAlert & { key: string; count: number };
const ALERT_REPEAT_MS = 30_000;

export function SupervisorView(props: { session: Session; onSignOut: () => void; onRefused: (m: string) => void }) {
  const { session } = props;
  const { socket, state } = useSocket<SupervisorServerEvents, SupervisorClientEvents>('/supervisor', session.token, props.onRefused);
  const [snapshot, setSnapshot] = useState<{ stats: QueueStats; at: number } | null>(null);
  const [alerts, setAlertsState] = useState<Alert[]>(() => loadStored<Alert[]>('alerts') ?? []);
  const [opening, setOpening] = useState<string | null>(null);
  const [callsVersion, setCallsVersion] = useState(0);
  const [, setSoundTick] = useState(0);
  // Admins watch the wallboard but read no call content.
  const canRead = session.user.role === 'supervisor';

  const setAlerts = useCallback((update: (a: Alert[]) => Alert[]) => {
    setAlertsState((current) => {
      const next = update(current);
      store('alerts', next.length ? next : null);
      return next;
    });
  }, []);

  useEffect(() => {
    const onStats: SupervisorServerEvents['queue:stats'] = (stats) => {
      setSnapshot((prev) => {
        if (prev && (prev.stats.answeredToday !== stats.answeredToday || prev.stats.abandonedToday !== stats.abandonedToday)) setCallsVersion((v) => v + 1);
        return { stats, at: Date.now() };
      });
    };
    const onAlert: SupervisorServerEvents['alert:escalation'] = (alert) => {
      setAlerts((list) => {
        const known = list.find((a) => a.callId === alert.callId);
        if (!known) return [{ ...alert, key: alert.callId, count: 1 }, ...list];
        if (known.at === alert.at) return list;
        return [{ ...known, ...alert, count: known.count + 1 }, ...list.filter((a) => a !== known)];
      });
      setCallsVersion((v) => v + 1);
      alertCue();
    };
    const onConnect = () => setCallsVersion((v) => v + 1);
    socket.on('queue:stats', onStats);
    socket.on('alert:escalation', onAlert);
    socket.on('connect', onConnect);
    return () => {
      socket.off('queue:stats', onStats);
      socket.off('alert:escalation', onAlert);
      socket.off('connect', onConnect);
    };
  }, [socket, setAlerts]);

  // An unacknowledged alert keeps sounding and keeps the tab title flagged.
  useEffect(() => {
    document.title = alerts.length ? `(${alerts.length}) ALERT · Hotline supervisor` : 'Hotline supervisor';
    if (!alerts.length) return;
    const t = setInterval(alertCue, ALERT_REPEAT_MS);
    return () => clearInterval(t);
  }, [alerts.length]);

  const operatorName = (id: string) => snapshot?.stats.operatorList?.find((o) => o.id === id)?.name ?? 'an operator';

  return (
    <div class="shell">
      <TopBar session={session} connection={state} onSignOut={props.onSignOut} title="Supervisor" />
      <main class="supervisor">
        {!soundReady() && (
          <p class="notice">
            Alert sounds are off until you interact with the page.{' '}
            <button
              type="button"
              class="link"
              onClick={() => {
                unlockSound();
                setTimeout(() => setSoundTick((t) => t + 1), 100);
              }}
            >
              Turn on alert sounds
            </button>
          </p>
        )}
        {alerts.length > 0 && (
          <section class="alerts" aria-label="Escalation alerts">
            {alerts.map((a) => (
              <AlertCard
                key={a.key}
                alert={a}
                session={session}
                canRead={canRead}
                operatorName={operatorName(a.operatorId)}
                onOpen={() => (unlockSound(), setOpening(a.callId))}
                onAcknowledge={() => (unlockSound(), setAlerts((list) => list.filter((x) => x.key !== a.key)))}
              />
            ))}
          </section>
        )}
        <Wallboard snapshot={snapshot} />
        <div class="supervisor-grid">
          <WaitingCalls snapshot={snapshot} />
          <Operators snapshot={snapshot} />
          {canRead && <RecentCalls session={session} version={callsVersion} onOpen={setOpening} />}
        </div>
        {opening && <BreakGlass session={session} callId={opening} onClose={() => setOpening(null)} />}
      </main>
    </div>
  );
}

function AlertCard(props: { alert: Alert; session: Session; canRead: boolean; operatorName: string; onOpen: () => void; onAcknowledge: () => void }) {
  const { alert, session } = props;
  const [escalations, setEscalations] = useState<{ id: string; createdAt: string; cosignedAt: string | null }[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!props.canRead) return;
    let live = true;
    listEscalations(session.token, alert.callId)
      .then((list) => live && setEscalations(list))
      .catch((e) => live && setError(`Escalations could not be loaded: ${(e as Error).message}`));
    return () => {
      live = false;
    };
  }, [alert.callId, alert.at, props.canRead, session.token]);

  const sign = async (id: string) => {
    setBusy(id);
    setError(null);
    try {
      await cosign(session.token, alert.callId, id);
      setEscalations((list) => list?.map((e) => (e.id === id ? { ...e, cosignedAt: new Date().toISOString() } : e)) ?? null);
    } catch (e) {
      setError(`Not co-signed: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  };

  const pending = escalations?.filter((e) => !e.cosignedAt) ?? [];
  const signed = escalations?.filter((e) => e.cosignedAt) ?? [];
  return (
    <div class="alert" role="alert">
      <div>
        <p class="alert-title">{RISK_LABEL[alert.riskLevel] ?? alert.riskLevel} risk: escalation on a call</p>
        <p>
          Raised by {props.operatorName} at {timeOfDay(alert.at)}.{' '}
          {!props.canRead
            ? 'A supervisor must review and co-sign it.'
            : escalations === null
              ? ''
              : pending.length
                ? `${pending.length === 1 ? 'An escalation awaits' : `${pending.length} escalations await`} your co-signature.`
                : signed.length
                  ? 'Co-signed.'
                  : 'The operator is recording the escalation.'}
        </p>
        <ErrorText error={error} />
      </div>
      <div class="actions">
        {pending.map((e) => (
          <button key={e.id} type="button" class="button primary" disabled={busy === e.id} onClick={() => sign(e.id)}>
            {pending.length > 1 ? `Co-sign (${timeOfDay(e.createdAt)})` : 'Co-sign'}
          </button>
        ))}
        {props.canRead && (
          <button type="button" class="button" onClick={props.onOpen}>
            Open call
          </button>
        )}
        <button type="button" class="button" onClick={props.onAcknowledge}>
          Acknowledge
        </button>
      </div>
    </div>
  );
}

function Tile(props: { id: string; label: string; value: string; hint?: string; tone?: string }) {
  return (
    <div class={`tile ${props.tone ?? ''}`} role="group" aria-labelledby={`tile-${props.id}`}>
      <span class="tile-label" id={`tile-${props.id}`}>
        {props.label}
      </span>
      <span class="tile-value">{props.value}</span>
      {props.hint && <span class="tile-hint">{props.hint}</span>}
    </div>
  );
}

function Wallboard(props: { snapshot: { stats: QueueStats; at: number } | null }) {
  const now = useNow();
  const s = props.snapshot?.stats;
  if (!s) {
    return (
      <section class="panel" aria-label="Queue">
        <p class="muted">Waiting for the first queue figures…</p>
      </section>
    );
  }
  const elapsed = (now - props.snapshot!.at) / 1000;
  const longest = s.waiting > 0 ? s.longestWaitSeconds + elapsed : 0;
  const level = s.serviceLevel === null ? '—' : `${Math.round(s.serviceLevel * 100)}%`;
  return (
    <section aria-label="Queue" class="wallboard">
      <div class="tiles">
        <Tile id="waiting" label="Waiting" value={String(s.waiting)} tone={s.waiting > 0 ? (longest > 60 ? 'hot' : 'warm') : ''} />
        <Tile id="longest" label="Longest wait" value={clock(longest)} tone={longest > 60 ? 'hot' : ''} />
        <Tile id="answered" label="Answered today" value={String(s.answeredToday)} />
        <Tile id="abandoned" label="Abandoned today" value={String(s.abandonedToday)} />
        <Tile id="service" label="Service level" value={level} hint="answered within target" />
      </div>
      <div class="tiles small" role="group" aria-label="Operators by state">
        <Tile id="op-available" label="Available" value={String(s.operators.available)} />
        <Tile id="op-offered" label="Being offered" value={String(s.operators.offered)} />
        <Tile id="op-oncall" label="On a call" value={String(s.operators.onCall)} />
        <Tile id="op-wrapup" label="Wrap-up" value={String(s.operators.wrapUp)} />
        <Tile id="op-away" label="Away" value={String(s.operators.away)} />
      </div>
    </section>
  );
}

function WaitingCalls(props: { snapshot: { stats: QueueStats; at: number } | null }) {
  const now = useNow();
  const calls = props.snapshot?.stats.waitingCalls ?? [];
  const elapsed = props.snapshot ? (now - props.snapshot.at) / 1000 : 0;
  return (
    <section class="panel" aria-labelledby="waiting-title">
      <h2 id="waiting-title">Waiting calls</h2>
      {calls.length === 0 ? (
        <p class="muted">Nobody is waiting.</p>
      ) : (
        <ol class="waiting-list">
          {[...calls]
            .sort((a, b) => b.waitingSeconds - a.waitingSeconds)
            .map((c, i) => (
              <li key={c.callId}>
                <span>Caller {i + 1}</span>
                <span class="wait" aria-label={`waiting ${spoken(c.waitingSeconds + elapsed)}`}>
                  {clock(c.waitingSeconds + elapsed)}
                </span>
              </li>
            ))}
        </ol>
      )}
    </section>
  );
}

function Operators(props: { snapshot: { stats: QueueStats; at: number } | null }) {
  const now = useNow();
  const ops = props.snapshot?.stats.operatorList ?? [];
  const elapsed = props.snapshot ? (now - props.snapshot.at) / 1000 : 0;
  return (
    <section class="panel" aria-labelledby="operators-title">
      <h2 id="operators-title">Operators</h2>
      {ops.length === 0 ? (
        <p class="muted">No operator is signed in.</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Time in state</th>
            </tr>
          </thead>
          <tbody>
            {ops.map((o) => (
              <tr key={o.id}>
                <td>{o.name}</td>
                <td>
                  <span class={`state state-${o.status}`}>{STATUS_LABEL[o.status] ?? o.status}</span>
                </td>
                <td>{clock(o.sinceSeconds + elapsed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RecentCalls(props: { session: Session; version: number; onOpen: (callId: string) => void }) {
  const [calls, setCalls] = useState<CallSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setCalls((await listCalls(props.session.token)).items);
      setError(null);
    } catch (e) {
      setError(`Calls could not be loaded: ${(e as Error).message}`);
    }
  }, [props.session.token]);
  useEffect(() => {
    void load();
  }, [load, props.version]);
  return (
    <section class="panel" aria-labelledby="recent-title">
      <div class="section-head">
        <h2 id="recent-title">Recent calls</h2>
        <button type="button" class="button quiet" onClick={load}>
          Refresh
        </button>
      </div>
      <ErrorText error={error} />
      {calls && calls.length === 0 && <p class="muted">No calls yet.</p>}
      {calls && calls.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Status</th>
              <th scope="col">Risk</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.callId}>
                <td>{dateTime(c.startedAt)}</td>
                <td>{(c.status ?? (c.endedAt ? 'ended' : 'open')).replace(/_/g, ' ')}</td>
                <td>{c.riskLevel ? <span class={`risk-tag risk-${c.riskLevel}`}>{RISK_LABEL[c.riskLevel]}</span> : <span class="muted">—</span>}</td>
                <td>
                  <button type="button" class="link" aria-label={`Open the call of ${dateTime(c.startedAt)}`} onClick={() => props.onOpen(c.callId)}>
                    Open call
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Break-glass: a supervisor reads a call's content only after stating why; records audits the reason. */
function BreakGlass(props: { session: Session; callId: string; onClose: () => void }) {
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
      setError(err instanceof ApiError && err.status === 410 ? 'This call has been destroyed under its retention policy; only its deletion certificate remains.' : `The call could not be opened: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const sign = async (escalationId: string) => {
    setCosigning(escalationId);
    setError(null);
    try {
      await cosign(props.session.token, props.callId, escalationId);
      setDetail((d) => d && { ...d, escalations: d.escalations?.map((x) => (x.id === escalationId ? { ...x, cosignedAt: new Date().toISOString(), cosignedBy: props.session.user.id } : x)) });
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
        <textarea id="bg-reason" required rows={3} maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} autoFocus />
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
