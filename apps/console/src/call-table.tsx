import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { CallSummary, listCalls } from './api';
import { RISK_LABEL, callLength, dateTime } from './format';
import type { Session } from './session';
import { ErrorText } from './ui';

export interface CallTableProps {
  session: Session;
  /** Changed by the view whenever the list may have changed (a call ended, a reconnect, an alert): reloads it. */
  version: number;
  /** The section's heading, and its id (the section is labelled by it). */
  title: string;
  titleId: string;
  class: string;
  /** The second column: how long each call lasted (an operator's own calls) or where it stands (a supervisor's list). */
  column: 'length' | 'status';
  /** Each row's button: its text, and its accessible name given the call's start ("View the call of today 10:42"). */
  action: { text: string; label: (started: string) => string };
  /** Opens a call; if it throws, the table says so (`messages.openFailed`). */
  onOpen: (callId: string) => void | Promise<void>;
  messages: { empty: string; loadFailed: string; openFailed?: string };
  /** Shown after the table, inside the section (e.g. the dialog of an opened call). */
  children?: ComponentChildren;
}

/** The list of calls (metadata only, newest first) that records lets this user see: the operator's and the supervisor's. */
export function CallTable(props: CallTableProps) {
  const { token } = props.session;
  const { loadFailed, openFailed = 'That call could not be opened' } = props.messages;
  const [calls, setCalls] = useState<CallSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setCalls((await listCalls(token)).items);
      setError(null);
    } catch (e) {
      setError(`${loadFailed}: ${(e as Error).message}`);
    }
  }, [token, loadFailed]);
  useEffect(() => {
    void load();
  }, [load, props.version]);

  const open = async (callId: string) => {
    try {
      await props.onOpen(callId);
    } catch (e) {
      setError(`${openFailed}: ${(e as Error).message}`);
    }
  };

  return (
    <section class={props.class} aria-labelledby={props.titleId}>
      <div class="section-head">
        <h2 id={props.titleId}>{props.title}</h2>
        <button type="button" class="button quiet" onClick={load}>
          Refresh
        </button>
      </div>
      <ErrorText error={error} />
      {calls && calls.length === 0 && <p class="muted">{props.messages.empty}</p>}
      {calls && calls.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">{props.column === 'length' ? 'Length' : 'Status'}</th>
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
                <td>{props.column === 'length' ? callLength(c) : (c.status ?? (c.endedAt ? 'ended' : 'open')).replace(/_/g, ' ')}</td>
                <td>
                  {c.riskLevel ? (
                    <span class={`risk-tag risk-${c.riskLevel}`}>{RISK_LABEL[c.riskLevel]}</span>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
                <td>
                  <button type="button" class="link" aria-label={props.action.label(dateTime(c.startedAt))} onClick={() => open(c.callId)}>
                    {props.action.text}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.children}
    </section>
  );
}
