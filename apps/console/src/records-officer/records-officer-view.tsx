import { useState } from 'preact/hooks';
import { api } from '../api';
import { dateTime } from '../format';
import type { Session } from '../session';
import { ErrorText } from '../ui';
import { ComplaintsPanel } from './complaints-panel';
import { OversightShell, downloadCsv, message, query, useLoad } from './oversight-shell';

interface Hold {
  id: string;
  callId: string;
  reason: string;
  placedBy: string;
  placedAt: string;
  liftedAt: string | null;
}
interface DeletionRequest {
  id: string;
  caller: string;
  requestedAt: string;
  status: string;
  executeAfter: string;
  callsTotal: number;
  callsHeld: number;
  callsDeleted: number;
  completedAt: string | null;
}
interface Certificate {
  id: string;
  callId: string;
  reason: string;
  retentionPolicy: string;
  destroyedAt: string;
  deletionRequestId: string | null;
}
interface RetentionReport {
  generatedAt: string;
  ok: boolean;
  overdue: number;
  overdueRecordings: number;
  awaitingDeletion: number;
  holdsInForce: { holds: number; calls: number };
  deletions: { lastDay: number; lastWeek: number };
  failures: { lastDay: number; lastWeek: number };
  policies: {
    policy: string;
    duration: string | null;
    calls: number;
    held: number;
    oldestUnheld: null | { startedAt: string; deadline: string; withinPolicy: boolean };
  }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUS_TEXT: Record<string, string> = {
  pending: 'Pending (grace period)',
  in_progress: 'In progress',
  done: 'Done',
  partly_held: 'Done, some calls held',
  cancelled: 'Cancelled by the caller',
};

/**
 * The records officer's console: legal holds (place with a reason, lift, list), deletion requests
 * made by phone and their state, deletion certificates, and the retention report with anything
 * overdue highlighted. No call content anywhere.
 */
export function RecordsOfficerView(props: { session: Session; onSignOut: () => void }) {
  const { token } = props.session;
  const holds = useLoad(() => api<{ holds: Hold[] }>('GET', '/legal-holds', { token }), []);
  return (
    <OversightShell session={props.session} title="Records officer" onSignOut={props.onSignOut}>
      <RetentionPanel token={token} />
      <section class="panel" aria-labelledby="holds-title">
        <h2 id="holds-title">Legal holds</h2>
        <PlaceHold token={token} onPlaced={holds.reload} />
        <ErrorText error={holds.error} />
        <HoldList token={token} holds={holds.data?.holds ?? null} onChanged={holds.reload} />
      </section>
      <DeletionRequests token={token} />
      <Certificates token={token} />
      <ComplaintsPanel token={token} />
      <ResearchExport token={token} />
    </OversightShell>
  );
}

function PlaceHold(props: { token: string; onPlaced: () => void }) {
  const [callId, setCallId] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    if (!UUID.test(callId.trim())) return setError('The call id is a UUID, as the call list or the certificate shows it.');
    setBusy(true);
    try {
      await api('POST', `/calls/${encodeURIComponent(callId.trim())}/legal-hold`, { token: props.token, body: { reason: reason.trim() } });
      setDone(`A legal hold is placed on call ${callId.trim()}.`);
      setCallId('');
      setReason('');
      props.onPlaced();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Place a legal hold">
      <div>
        <label for="hold-call">Call id</label>
        <input id="hold-call" value={callId} required onInput={(e) => setCallId(e.currentTarget.value)} placeholder="e.g. 3f0c1b9e-…" />
      </div>
      <div class="grow">
        <label for="hold-reason">Reason</label>
        <input
          id="hold-reason"
          value={reason}
          required
          maxLength={500}
          onInput={(e) => setReason(e.currentTarget.value)}
          placeholder="e.g. Preservation order, case reference"
        />
      </div>
      <button type="submit" class="button primary" disabled={busy}>
        Place hold
      </button>
      <ErrorText error={error} />
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </form>
  );
}

function HoldList(props: { token: string; holds: Hold[] | null; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  if (!props.holds) return <p class="muted">Loading holds…</p>;
  const lift = async (h: Hold) => {
    setError(null);
    try {
      await api('DELETE', `/calls/${encodeURIComponent(h.callId)}/legal-hold`, { token: props.token });
      setStatus(`The hold on call ${h.callId} is lifted.`);
      props.onChanged();
    } catch (err) {
      setError(message(err));
    }
  };
  const inForce = props.holds.filter((h) => !h.liftedAt);
  const lifted = props.holds.filter((h) => h.liftedAt);
  return (
    <>
      <ErrorText error={error} />
      {status && (
        <p class="ok" role="status">
          {status}
        </p>
      )}
      <table class="table" aria-label="Legal holds in force">
        <thead>
          <tr>
            <th scope="col">Call</th>
            <th scope="col">Reason</th>
            <th scope="col">Placed</th>
            <th scope="col">
              <span class="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {inForce.length === 0 && (
            <tr>
              <td colSpan={4} class="muted">
                No hold is in force.
              </td>
            </tr>
          )}
          {inForce.map((h) => (
            <tr key={h.id}>
              <td class="mono">{h.callId}</td>
              <td>{h.reason}</td>
              <td>{dateTime(h.placedAt)}</td>
              <td>
                <button type="button" class="button" aria-label={`Lift the hold on call ${h.callId}`} onClick={() => void lift(h)}>
                  Lift hold
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {lifted.length > 0 && (
        <details>
          <summary>Lifted in the last 30 days ({lifted.length})</summary>
          <ul>
            {lifted.map((h) => (
              <li key={h.id}>
                <span class="mono">{h.callId}</span>: lifted {dateTime(h.liftedAt!)} ({h.reason})
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

function RetentionPanel(props: { token: string }) {
  const report = useLoad(() => api<RetentionReport>('GET', '/retention/report', { token: props.token }), []);
  const r = report.data;
  return (
    <section class={`panel ${r && !r.ok ? 'overdue' : ''}`} aria-labelledby="retention-title">
      <div class="panel-head">
        <h2 id="retention-title">Retention report</h2>
        <button type="button" class="button quiet" onClick={report.reload}>
          Refresh
        </button>
      </div>
      <ErrorText error={report.error} />
      {!r && !report.error && <p class="muted">Loading…</p>}
      {r && (
        <>
          <p role="status" class={r.ok ? 'ok' : 'error'}>
            {r.ok
              ? 'Nothing is kept past its retention period.'
              : `Overdue: ${r.overdue} call(s) and ${r.overdueRecordings} recording(s) are past their deadline by more than one scan interval.`}
          </p>
          <dl class="figures">
            <div class={r.overdue ? 'figure overdue' : 'figure'}>
              <dt>Overdue calls</dt>
              <dd>{r.overdue}</dd>
            </div>
            <div class={r.overdueRecordings ? 'figure overdue' : 'figure'}>
              <dt>Overdue recordings</dt>
              <dd>{r.overdueRecordings}</dd>
            </div>
            <div class="figure">
              <dt>Awaiting deletion</dt>
              <dd>{r.awaitingDeletion}</dd>
            </div>
            <div class="figure">
              <dt>Held calls</dt>
              <dd>{r.holdsInForce.calls}</dd>
            </div>
            <div class="figure">
              <dt>Deleted this week</dt>
              <dd>{r.deletions.lastWeek}</dd>
            </div>
            <div class={r.failures.lastWeek ? 'figure overdue' : 'figure'}>
              <dt>Failed deletions this week</dt>
              <dd>{r.failures.lastWeek}</dd>
            </div>
          </dl>
          <table class="table" aria-label="Calls by retention policy">
            <thead>
              <tr>
                <th scope="col">Policy</th>
                <th scope="col">Kept for</th>
                <th scope="col">Calls</th>
                <th scope="col">Held</th>
                <th scope="col">Oldest not held: deadline</th>
              </tr>
            </thead>
            <tbody>
              {r.policies.map((p) => {
                const late = p.oldestUnheld !== null && !p.oldestUnheld.withinPolicy;
                return (
                  <tr key={p.policy} class={late ? 'overdue' : ''}>
                    <td>{p.policy}</td>
                    <td>{p.duration ?? 'not configured'}</td>
                    <td>{p.calls}</td>
                    <td>{p.held}</td>
                    <td>
                      {p.oldestUnheld ? dateTime(p.oldestUnheld.deadline) : '—'}
                      {late && <strong> (past its deadline)</strong>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function DeletionRequests(props: { token: string }) {
  const list = useLoad(() => api<{ items: DeletionRequest[] }>('GET', '/deletion-requests?limit=50', { token: props.token }), []);
  return (
    <section class="panel" aria-labelledby="requests-title">
      <h2 id="requests-title">Deletion requests by phone</h2>
      <ErrorText error={list.error} />
      <table class="table" aria-labelledby="requests-title">
        <thead>
          <tr>
            <th scope="col">Caller</th>
            <th scope="col">Requested</th>
            <th scope="col">State</th>
            <th scope="col">Not before</th>
            <th scope="col">Calls deleted / held / total</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                No deletion requests.
              </td>
            </tr>
          )}
          {list.data?.items.map((d) => (
            <tr key={d.id}>
              <td class="mono">{d.caller}</td>
              <td>{dateTime(d.requestedAt)}</td>
              <td>{STATUS_TEXT[d.status] ?? d.status}</td>
              <td>{dateTime(d.executeAfter)}</td>
              <td>
                {d.callsDeleted} / {d.callsHeld} / {d.callsTotal}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Certificates(props: { token: string }) {
  const list = useLoad(() => api<{ certificates: Certificate[] }>('GET', '/deletion-certificates?limit=50', { token: props.token }), []);
  return (
    <section class="panel" aria-labelledby="certificates-title">
      <h2 id="certificates-title">Deletion certificates</h2>
      <ErrorText error={list.error} />
      <table class="table" aria-labelledby="certificates-title">
        <thead>
          <tr>
            <th scope="col">Certificate</th>
            <th scope="col">Call</th>
            <th scope="col">Why</th>
            <th scope="col">Policy</th>
            <th scope="col">Destroyed</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.certificates.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                No call has been destroyed yet.
              </td>
            </tr>
          )}
          {list.data?.certificates.map((c) => (
            <tr key={c.id}>
              <td class="mono">{c.id.slice(0, 8)}</td>
              <td class="mono">{c.callId}</td>
              <td>{c.reason === 'caller_request' ? 'Caller’s request' : 'Retention'}</td>
              <td>{c.retentionPolicy}</td>
              <td>{dateTime(c.destroyedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface PeriodReport {
  period: string;
  status: 'released' | 'withheld';
  reason: 'fewer_than_k' | 'changed' | 'overlaps' | null;
  explanation: string | null;
  firstReleasedAt: string | null;
  considered: number | null;
  exported: number;
  suppressedRows: number | null;
  suppressedCombinations: number | null;
  generalisation: string | null;
}
interface ResearchReport {
  k: number;
  considered: number;
  exported: number;
  suppressedRows: number;
  periods: PeriodReport[];
}
interface ResearchAnswer {
  period: 'month' | 'week';
  from: string;
  to: string;
  report: ResearchReport;
}

const PERIOD_NAME = { month: 'calendar month', week: 'ISO week' };

/**
 * The anonymised research export, released by whole, ended periods (records' RESEARCH_PERIOD: calendar
 * months, or ISO weeks): its report on screen, period by period (released, or withheld and why), its
 * rows as a CSV download. Each is audited.
 */
function ResearchExport(props: { token: string }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [answer, setAnswer] = useState<ResearchAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const params = () => query({ from: from.trim() || undefined, to: to.trim() || from.trim() || undefined });
  const preview = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setAnswer(null);
    try {
      setAnswer(await api<ResearchAnswer>('GET', `/research/export${params()}`, { token: props.token }));
    } catch (err) {
      setError(message(err));
    }
  };
  const report = answer?.report;
  return (
    <section class="panel" aria-labelledby="research-title">
      <h2 id="research-title">Research data (anonymised)</h2>
      <p class="muted" id="research-help">
        Only calls whose callers consented to research; structured fields only, coarsened, rare combinations suppressed. Released by whole
        periods that have ended (calendar months as 2025-03, or ISO weeks as 2025-W10 where research data is released by week; UTC); each
        period keeps the content of its first release. Leave both empty for the latest period.
      </p>
      <form class="inline-form" onSubmit={preview} aria-label="Research export" aria-describedby="research-help">
        <div>
          <label for="research-from">First period</label>
          <input id="research-from" type="text" placeholder="2025-03" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div>
          <label for="research-to">Last period</label>
          <input id="research-to" type="text" placeholder="2025-03" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button primary">
          Show suppression report
        </button>
        <button
          type="button"
          class="button"
          onClick={() =>
            void downloadCsv(props.token, `/research/export/csv${params()}`, 'research-export.csv').catch((err) => setError(message(err)))
          }
        >
          Download research CSV
        </button>
      </form>
      <ErrorText error={error} />
      {answer && report && (
        <div>
          <p role="status">
            {answer.from === answer.to ? answer.from : `${answer.from} to ${answer.to}`} (by {PERIOD_NAME[answer.period]}, UTC):{' '}
            {report.exported} row(s) exported from {report.considered} consenting call(s) in the periods released, {report.suppressedRows}{' '}
            suppressed; every row matches at least {report.k - 1} others of its period.
          </p>
          <table class="table" aria-label="Research periods">
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">Released?</th>
                <th scope="col">Consenting calls</th>
                <th scope="col">Exported</th>
                <th scope="col">Suppressed</th>
                <th scope="col">Coarsened to</th>
              </tr>
            </thead>
            <tbody>
              {report.periods.map((p) => (
                <tr key={p.period}>
                  <th scope="row">{p.period}</th>
                  <td>
                    {p.status === 'released'
                      ? `Released${p.firstReleasedAt ? ` (first on ${p.firstReleasedAt.slice(0, 10)})` : ''}`
                      : `Withheld: ${p.explanation ?? p.reason}`}
                  </td>
                  <td>{p.considered ?? (p.reason === 'fewer_than_k' ? `fewer than ${report.k}` : 'not shown')}</td>
                  <td>{p.exported}</td>
                  <td>{p.suppressedRows ?? ''}</td>
                  <td>{p.generalisation ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
