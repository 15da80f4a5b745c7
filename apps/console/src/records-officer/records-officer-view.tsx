import type {
  CursorPage,
  DeletionCertificateSummary,
  DeletionRequestStatus,
  DeletionRequestView,
  LegalHold,
  ResearchExportReport,
  ResearchPeriod,
  RetentionReport,
} from '@hotline/contract';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { DataTable } from '../components/data-table';
import { InlineForm, Outcome, TextField, useAction } from '../components/form';
import { downloadCsv, query, useLoad } from '../components/load';
import { OversightShell } from '../components/oversight-shell';
import { MoreButton, usePages } from '../components/paging';
import { dateTime } from '../format';
import type { Session } from '../session';
import { ErrorText } from '../ui';
import { ComplaintsPanel } from './complaints-panel';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUS_TEXT: Record<DeletionRequestStatus, string> = {
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
  const holds = useLoad(() => api<{ holds: LegalHold[] }>('GET', '/legal-holds', { token }), []);
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
  const action = useAction();
  const submit = () => {
    const id = callId.trim();
    if (!UUID.test(id)) return action.setError('The call id is a UUID, as the call list or the certificate shows it.');
    void action.run(async () => {
      await api('POST', `/calls/${encodeURIComponent(id)}/legal-hold`, { token: props.token, body: { reason: reason.trim() } });
      setCallId('');
      setReason('');
      props.onPlaced();
      return `A legal hold is placed on call ${id}.`;
    });
  };
  return (
    <InlineForm label="Place a legal hold" onSubmit={submit}>
      <TextField id="hold-call" label="Call id" value={callId} onValue={setCallId} required placeholder="e.g. 3f0c1b9e-…" />
      <TextField
        id="hold-reason"
        label="Reason"
        value={reason}
        onValue={setReason}
        required
        maxLength={500}
        placeholder="e.g. Preservation order, case reference"
        grow
      />
      <button type="submit" class="button primary" disabled={action.busy}>
        Place hold
      </button>
      <Outcome error={action.error} done={action.done} />
    </InlineForm>
  );
}

function HoldList(props: { token: string; holds: LegalHold[] | null; onChanged: () => void }) {
  const action = useAction();
  if (!props.holds) return <p class="muted">Loading holds…</p>;
  const lift = (h: LegalHold) =>
    action.run(async () => {
      await api('DELETE', `/calls/${encodeURIComponent(h.callId)}/legal-hold`, { token: props.token });
      props.onChanged();
      return `The hold on call ${h.callId} is lifted.`;
    });
  const inForce = props.holds.filter((h) => !h.liftedAt);
  const lifted = props.holds.filter((h) => h.liftedAt);
  return (
    <>
      <Outcome error={action.error} done={action.done} />
      <DataTable
        label="Legal holds in force"
        rows={inForce}
        rowKey={(h) => h.id}
        empty="No hold is in force."
        columns={[
          { header: 'Call', class: 'mono', cell: (h) => h.callId },
          { header: 'Reason', cell: (h) => h.reason },
          { header: 'Placed', cell: (h) => dateTime(h.placedAt) },
          {
            header: 'Action',
            hidden: true,
            cell: (h) => (
              <button type="button" class="button" aria-label={`Lift the hold on call ${h.callId}`} onClick={() => void lift(h)}>
                Lift hold
              </button>
            ),
          },
        ]}
      />
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
  const late = (p: RetentionReport['policies'][number]) => p.oldestUnheld !== null && !p.oldestUnheld.withinPolicy;
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
          <DataTable
            label="Calls by retention policy"
            rows={r.policies}
            rowKey={(p) => p.policy}
            rowClass={(p) => (late(p) ? 'overdue' : '')}
            empty="No retention policy is configured."
            columns={[
              { header: 'Policy', cell: (p) => p.policy },
              { header: 'Kept for', cell: (p) => p.duration ?? 'not configured' },
              { header: 'Calls', cell: (p) => p.calls },
              { header: 'Held', cell: (p) => p.held },
              {
                header: 'Oldest not held: deadline',
                cell: (p) => (
                  <>
                    {p.oldestUnheld ? dateTime(p.oldestUnheld.deadline) : '—'}
                    {late(p) && <strong> (past its deadline)</strong>}
                  </>
                ),
              },
            ]}
          />
        </>
      )}
    </section>
  );
}

function DeletionRequests(props: { token: string }) {
  const list = usePages(
    async (cursor) => {
      const page = await api<CursorPage<DeletionRequestView>>('GET', `/deletion-requests${query({ limit: 50, cursor })}`, {
        token: props.token,
      });
      return { items: page.items, next: page.nextCursor };
    },
    { auto: true },
  );
  return (
    <section class="panel" aria-labelledby="requests-title">
      <h2 id="requests-title">Deletion requests by phone</h2>
      <ErrorText error={list.error} />
      <DataTable
        labelledBy="requests-title"
        rows={list.items}
        rowKey={(d) => d.id}
        empty="No deletion requests."
        columns={[
          { header: 'Caller', class: 'mono', cell: (d) => d.caller },
          { header: 'Requested', cell: (d) => dateTime(d.requestedAt) },
          { header: 'State', cell: (d) => STATUS_TEXT[d.status as DeletionRequestStatus] ?? d.status },
          { header: 'Not before', cell: (d) => dateTime(d.executeAfter) },
          { header: 'Calls deleted / held / total', cell: (d) => `${d.callsDeleted} / ${d.callsHeld} / ${d.callsTotal}` },
        ]}
      />
      <MoreButton next={list.next} busy={list.busy} onMore={() => void list.more()} what="requests" />
    </section>
  );
}

function Certificates(props: { token: string }) {
  // Paged by `before`: the last destroyedAt of the page before.
  const list = usePages(
    async (before) => {
      const page = await api<{ certificates: DeletionCertificateSummary[] }>(
        'GET',
        `/deletion-certificates${query({ limit: 50, before })}`,
        { token: props.token },
      );
      const last = page.certificates[page.certificates.length - 1];
      return { items: page.certificates, next: page.certificates.length === 50 && last ? last.destroyedAt : null };
    },
    { auto: true },
  );
  return (
    <section class="panel" aria-labelledby="certificates-title">
      <h2 id="certificates-title">Deletion certificates</h2>
      <ErrorText error={list.error} />
      <DataTable
        labelledBy="certificates-title"
        rows={list.items}
        rowKey={(c) => c.id}
        empty="No call has been destroyed yet."
        columns={[
          { header: 'Certificate', class: 'mono', cell: (c) => c.id.slice(0, 8) },
          { header: 'Call', class: 'mono', cell: (c) => c.callId },
          { header: 'Why', cell: (c) => (c.reason === 'caller_request' ? 'Caller’s request' : 'Retention') },
          { header: 'Policy', cell: (c) => c.retentionPolicy },
          { header: 'Destroyed', cell: (c) => dateTime(c.destroyedAt) },
        ]}
      />
      <MoreButton next={list.next} busy={list.busy} onMore={() => void list.more()} what="certificates" />
    </section>
  );
}

const PERIOD_NAME: Record<ResearchPeriod, string> = { month: 'calendar month', week: 'ISO week' };

/**
 * The anonymised research export, released by whole, ended periods (records' RESEARCH_PERIOD: calendar
 * months, or ISO weeks): its report on screen, period by period (released, or withheld and why), its
 * rows as a CSV download. Each is audited.
 */
function ResearchExport(props: { token: string }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [answer, setAnswer] = useState<ResearchExportReport | null>(null);
  const action = useAction();
  const params = () => query({ from: from.trim() || undefined, to: to.trim() || from.trim() || undefined });
  const preview = () => {
    setAnswer(null);
    void action.run(async () => setAnswer(await api<ResearchExportReport>('GET', `/research/export${params()}`, { token: props.token })));
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
      <InlineForm label="Research export" describedBy="research-help" onSubmit={preview}>
        <TextField id="research-from" label="First period" type="text" placeholder="2025-03" value={from} onValue={setFrom} />
        <TextField id="research-to" label="Last period" type="text" placeholder="2025-03" value={to} onValue={setTo} />
        <button type="submit" class="button primary">
          Show suppression report
        </button>
        <button
          type="button"
          class="button"
          onClick={() => void action.run(() => downloadCsv(props.token, `/research/export/csv${params()}`, 'research-export.csv'))}
        >
          Download research CSV
        </button>
      </InlineForm>
      <ErrorText error={action.error} />
      {answer && report && (
        <div>
          <p role="status">
            {answer.from === answer.to ? answer.from : `${answer.from} to ${answer.to}`} (by {PERIOD_NAME[answer.period]}, UTC):{' '}
            {report.exported} row(s) exported from {report.considered} consenting call(s) in the periods released, {report.suppressedRows}{' '}
            suppressed; every row matches at least {report.k - 1} others of its period.
          </p>
          <DataTable
            label="Research periods"
            rows={report.periods}
            rowKey={(p) => p.period}
            empty="No period in this range."
            columns={[
              { header: 'Period', rowHeader: true, cell: (p) => p.period },
              {
                header: 'Released?',
                cell: (p) =>
                  p.status === 'released'
                    ? `Released${p.firstReleasedAt ? ` (first on ${p.firstReleasedAt.slice(0, 10)})` : ''}`
                    : `Withheld: ${p.explanation ?? p.reason}`,
              },
              {
                header: 'Consenting calls',
                cell: (p) => p.considered ?? (p.reason === 'fewer_than_k' ? `fewer than ${report.k}` : 'not shown'),
              },
              { header: 'Exported', cell: (p) => p.exported },
              { header: 'Suppressed', cell: (p) => p.suppressedRows ?? '' },
              { header: 'Coarsened to', cell: (p) => p.generalisation ?? '' },
            ]}
          />
        </div>
      )}
    </section>
  );
}
