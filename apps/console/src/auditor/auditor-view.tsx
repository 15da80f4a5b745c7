import { useState } from 'preact/hooks';
import { api } from '../api';
import { dateTime } from '../format';
import type { Session } from '../session';
import { ErrorText } from '../ui';
import { OversightShell, downloadCsv, isoOf, message, query } from '../records-officer/oversight-shell';

interface Entry {
  seq: number;
  at: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  detail: Record<string, unknown> | null;
}
interface Verification {
  ok: boolean;
  entries: number;
  firstBadEntry?: { seq: number; problem: string };
  checkpoints?: { files: number; coveredToSeq: number; problems: string[] };
}
interface AccessReport {
  accesses: {
    seq: number;
    at: string;
    callId: string;
    actorId: string | null;
    action: string;
    access: string;
    how: string;
    reason: string | null;
  }[];
  calls: { callId: string }[];
  callers: { distinctCallers: number; canBeTold: number; cannotBeTold: number; callsDestroyed: number; callsWithheld: number };
  truncated: boolean;
}

const HOW_TEXT: Record<string, string> = {
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
  const [result, setResult] = useState<Verification | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await api<Verification>('GET', '/audit/verify', { token: props.token }));
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-labelledby="verify-title">
      <div class="panel-head">
        <h2 id="verify-title">Chain verification</h2>
        <button type="button" class="button primary" onClick={() => void run()} disabled={busy}>
          {busy ? 'Verifying…' : 'Verify the chain'}
        </button>
      </div>
      <ErrorText error={error} />
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
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const filters = () => ({ from: isoOf(from), to: isoOf(to), actorId: actorId.trim(), action: action.trim(), targetId: targetId.trim() });

  const load = async (cursor?: string) => {
    setBusy(true);
    setError(null);
    try {
      const page = await api<{ entries: Entry[]; nextCursor: string | null }>(
        'GET',
        `/audit/entries${query({ ...filters(), limit: 50, cursor })}`,
        {
          token: props.token,
        },
      );
      setEntries((prev) => (cursor && prev ? [...prev, ...page.entries] : page.entries));
      setNext(page.nextCursor);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const exportCsv = async () => {
    setError(null);
    try {
      await downloadCsv(props.token, `/audit/entries/csv${query(filters())}`, 'audit-entries.csv');
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section class="panel" aria-labelledby="search-title">
      <h2 id="search-title">Search the audit trail</h2>
      <form
        class="inline-form"
        aria-label="Audit search"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <div>
          <label for="audit-from">From</label>
          <input id="audit-from" type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div>
          <label for="audit-to">To</label>
          <input id="audit-to" type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div>
          <label for="audit-actor">Actor id</label>
          <input id="audit-actor" value={actorId} onInput={(e) => setActorId(e.currentTarget.value)} />
        </div>
        <div>
          <label for="audit-action">Action</label>
          <input
            id="audit-action"
            value={action}
            placeholder="e.g. call.* or call.break_glass"
            onInput={(e) => setAction(e.currentTarget.value)}
          />
        </div>
        <div>
          <label for="audit-target">Target id</label>
          <input id="audit-target" value={targetId} onInput={(e) => setTargetId(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button primary" disabled={busy}>
          Search
        </button>
        <button type="button" class="button" onClick={() => void exportCsv()}>
          Export CSV
        </button>
      </form>
      <ErrorText error={error} />
      {entries && (
        <>
          <p role="status" class="muted">
            {entries.length} entr{entries.length === 1 ? 'y' : 'ies'} shown{next ? ' (more match)' : ''}.
          </p>
          <table class="table" aria-label="Audit entries">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td>{dateTime(e.at)}</td>
                  <td>
                    <span class="mono">{e.actorId ? e.actorId.slice(0, 8) : '—'}</span> <span class="muted">{e.actorRole ?? ''}</span>
                  </td>
                  <td>{e.action}</td>
                  <td>
                    <span class="muted">{e.targetType ?? ''}</span> <span class="mono">{e.targetId ?? ''}</span>
                  </td>
                  <td class="detail">{e.detail ? JSON.stringify(e.detail) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {next && (
            <button type="button" class="button" onClick={() => void load(next)} disabled={busy}>
              Show more
            </button>
          )}
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
  const [error, setError] = useState<string | null>(null);
  const params = () => (callId.trim() ? { callId: callId.trim() } : { staffId: staffId.trim(), from: isoOf(from), to: isoOf(to) });
  const run = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setReport(await api<AccessReport>('GET', `/audit/access-report${query(params())}`, { token: props.token }));
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <section class="panel" aria-labelledby="access-title">
      <h2 id="access-title">Access report</h2>
      <p class="muted">A member of staff and a time range, or one call. The report is itself audited.</p>
      <form class="inline-form" onSubmit={run} aria-label="Access report">
        <div>
          <label for="report-staff">Staff id</label>
          <input id="report-staff" value={staffId} onInput={(e) => setStaffId(e.currentTarget.value)} />
        </div>
        <div>
          <label for="report-from">From</label>
          <input id="report-from" type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div>
          <label for="report-to">To</label>
          <input id="report-to" type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div>
          <label for="report-call">Or call id</label>
          <input id="report-call" value={callId} onInput={(e) => setCallId(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button primary">
          Run report
        </button>
        <button
          type="button"
          class="button"
          onClick={() =>
            void downloadCsv(props.token, `/audit/access-report/csv${query(params())}`, 'access-report.csv').catch((err) =>
              setError(message(err)),
            )
          }
        >
          Export report CSV
        </button>
      </form>
      <ErrorText error={error} />
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
          <table class="table" aria-label="Accesses">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Call</th>
                <th scope="col">Who</th>
                <th scope="col">Access</th>
                <th scope="col">How</th>
                <th scope="col">Reason given</th>
              </tr>
            </thead>
            <tbody>
              {report.accesses.map((a) => (
                <tr key={a.seq}>
                  <td>{dateTime(a.at)}</td>
                  <td class="mono">{a.callId}</td>
                  <td class="mono">{a.actorId?.slice(0, 8) ?? '—'}</td>
                  <td>{a.access}</td>
                  <td>{HOW_TEXT[a.how] ?? a.how}</td>
                  <td>{a.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
