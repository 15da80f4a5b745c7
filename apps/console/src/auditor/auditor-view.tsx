import type { AccessHow, AccessReport, AuditEntry, AuditEntryPage, AuditVerification } from '@hotline/contract';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { DataTable } from '../components/data-table';
import { InlineForm, TextField, useAction } from '../components/form';
import { downloadCsv, isoOf, query } from '../components/load';
import { OversightShell } from '../components/oversight-shell';
import { MoreButton, usePages } from '../components/paging';
import { dateTime } from '../format';
import type { Session } from '../session';
import { ErrorText } from '../ui';

const HOW_TEXT: Record<AccessHow, string> = {
  own_call: 'own call',
  break_glass: 'break-glass',
  listen_in: 'listen-in',
  supervision: 'supervision',
};

/**
 * The auditor's console: search the audit trail (time range, actor, action, target) and export a
 * search as CSV; verify the hash chain and the signed checkpoints, naming the first bad entry;
 * access reports for a breach. Auditors read no content: nothing here shows any.
 */
export function AuditorView(props: { session: Session; onSignOut: () => void }) {
  return (
    <OversightShell session={props.session} title="Auditor" onSignOut={props.onSignOut}>
      <Verify token={props.session.token} />
      <Search token={props.session.token} />
      <AccessReportPanel token={props.session.token} />
    </OversightShell>
  );
}

function Verify(props: { token: string }) {
  const [result, setResult] = useState<AuditVerification | null>(null);
  const action = useAction();
  const run = () => action.run(async () => setResult(await api<AuditVerification>('GET', '/audit/verify', { token: props.token })));
  return (
    <section class="panel" aria-labelledby="verify-title">
      <div class="panel-head">
        <h2 id="verify-title">Chain verification</h2>
        <button type="button" class="button primary" onClick={() => void run()} disabled={action.busy}>
          {action.busy ? 'Verifying…' : 'Verify the chain'}
        </button>
      </div>
      <ErrorText error={action.error} />
      {result && (
        <div role="status" class={result.ok ? 'ok' : 'error'}>
          {result.ok ? (
            <p>The chain is intact: {result.entries} entries verified.</p>
          ) : (
            <p>
              The chain is broken at entry {result.firstBadEntry?.seq}: {result.firstBadEntry?.problem}. {result.entries} entries before it
              are good.
            </p>
          )}
          {result.checkpoints && (
            <p>
              Signed checkpoints: {result.checkpoints.files} file(s), covering entries up to {result.checkpoints.coveredToSeq}.
              {result.checkpoints.problems.length > 0 && ` Not believed: ${result.checkpoints.problems.join('; ')}.`}
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function Search(props: { token: string }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [actorId, setActorId] = useState('');
  const [action, setAction] = useState('');
  const [targetId, setTargetId] = useState('');
  const filters = () => ({ from: isoOf(from), to: isoOf(to), actorId: actorId.trim(), action: action.trim(), targetId: targetId.trim() });
  const entries = usePages<AuditEntry>(async (cursor) => {
    const page = await api<AuditEntryPage>('GET', `/audit/entries${query({ ...filters(), limit: 50, cursor })}`, { token: props.token });
    return { items: page.entries, next: page.nextCursor };
  });
  const exporting = useAction();
  const exportCsv = () => exporting.run(() => downloadCsv(props.token, `/audit/entries/csv${query(filters())}`, 'audit-entries.csv'));
  const shown = entries.items;

  return (
    <section class="panel" aria-labelledby="search-title">
      <h2 id="search-title">Search the audit trail</h2>
      <InlineForm label="Audit search" onSubmit={() => void entries.load()}>
        <TextField id="audit-from" label="From" type="datetime-local" value={from} onValue={setFrom} />
        <TextField id="audit-to" label="To" type="datetime-local" value={to} onValue={setTo} />
        <TextField id="audit-actor" label="Actor id" value={actorId} onValue={setActorId} />
        <TextField id="audit-action" label="Action" value={action} onValue={setAction} placeholder="e.g. call.* or call.break_glass" />
        <TextField id="audit-target" label="Target id" value={targetId} onValue={setTargetId} />
        <button type="submit" class="button primary" disabled={entries.busy}>
          Search
        </button>
        <button type="button" class="button" onClick={() => void exportCsv()}>
          Export CSV
        </button>
      </InlineForm>
      <ErrorText error={entries.error ?? exporting.error} />
      {shown && (
        <>
          <p role="status" class="muted">
            {shown.length} entr{shown.length === 1 ? 'y' : 'ies'} shown{entries.next ? ' (more match)' : ''}.
          </p>
          <DataTable
            label="Audit entries"
            rows={shown}
            rowKey={(e) => e.seq}
            empty="No entry matches."
            columns={[
              { header: '#', cell: (e) => e.seq },
              { header: 'When', cell: (e) => dateTime(e.at) },
              {
                header: 'Actor',
                cell: (e) => (
                  <>
                    <span class="mono">{e.actorId ? e.actorId.slice(0, 8) : '—'}</span> <span class="muted">{e.actorRole ?? ''}</span>
                  </>
                ),
              },
              { header: 'Action', cell: (e) => e.action },
              {
                header: 'Target',
                cell: (e) => (
                  <>
                    <span class="muted">{e.targetType ?? ''}</span> <span class="mono">{e.targetId ?? ''}</span>
                  </>
                ),
              },
              { header: 'Detail', class: 'detail', cell: (e) => (e.detail ? JSON.stringify(e.detail) : '') },
            ]}
          />
          <MoreButton next={entries.next} busy={entries.busy} onMore={() => void entries.more()} />
        </>
      )}
    </section>
  );
}

function AccessReportPanel(props: { token: string }) {
  const [staffId, setStaffId] = useState('');
  const [callId, setCallId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [report, setReport] = useState<AccessReport | null>(null);
  const action = useAction();
  const params = () => (callId.trim() ? { callId: callId.trim() } : { staffId: staffId.trim(), from: isoOf(from), to: isoOf(to) });
  const run = () =>
    action.run(async () => setReport(await api<AccessReport>('GET', `/audit/access-report${query(params())}`, { token: props.token })));
  return (
    <section class="panel" aria-labelledby="access-title">
      <h2 id="access-title">Access report</h2>
      <p class="muted">A member of staff and a time range, or one call. The report is itself audited.</p>
      <InlineForm label="Access report" onSubmit={() => void run()}>
        <TextField id="report-staff" label="Staff id" value={staffId} onValue={setStaffId} />
        <TextField id="report-from" label="From" type="datetime-local" value={from} onValue={setFrom} />
        <TextField id="report-to" label="To" type="datetime-local" value={to} onValue={setTo} />
        <TextField id="report-call" label="Or call id" value={callId} onValue={setCallId} />
        <button type="submit" class="button primary">
          Run report
        </button>
        <button
          type="button"
          class="button"
          onClick={() => void action.run(() => downloadCsv(props.token, `/audit/access-report/csv${query(params())}`, 'access-report.csv'))}
        >
          Export report CSV
        </button>
      </InlineForm>
      <ErrorText error={action.error} />
      {report && (
        <>
          <p role="status">
            {report.accesses.length} access(es) to {report.calls.length} call(s), touching {report.callers.distinctCallers} distinct
            caller(s): {report.callers.canBeTold} can be told, {report.callers.cannotBeTold} cannot
            {report.callers.callsDestroyed
              ? ` (${report.callers.callsDestroyed} call(s) since destroyed: their callers cannot be known)`
              : ''}
            .
          </p>
          <DataTable
            label="Accesses"
            rows={report.accesses}
            rowKey={(a) => a.seq}
            empty="No access in this report."
            columns={[
              { header: 'When', cell: (a) => dateTime(a.at) },
              { header: 'Call', class: 'mono', cell: (a) => a.callId },
              { header: 'Who', class: 'mono', cell: (a) => a.actorId?.slice(0, 8) ?? '—' },
              { header: 'Access', cell: (a) => a.access },
              { header: 'How', cell: (a) => HOW_TEXT[a.how] ?? a.how },
              { header: 'Reason given', cell: (a) => a.reason ?? '' },
            ]}
          />
        </>
      )}
    </section>
  );
}
