import { useState } from 'preact/hooks';
import { api } from '../api';
import { dateTime } from '../format';
import { ErrorText, Select } from '../ui';
import { message, useLoad } from './oversight-shell';

const CHANNELS = ['phone', 'email', 'letter', 'in_person', 'other'] as const;
const CATEGORIES = ['conduct', 'service', 'privacy', 'access', 'other'] as const;
const NEXT: Record<string, { status: string; label: string } | undefined> = {
  received: { status: 'investigating', label: 'Start investigating' },
  investigating: { status: 'resolved', label: 'Resolve' },
};
const human = (s: string) => s.replace('_', ' ');

interface Complaint {
  id: string;
  receivedAt: string;
  receivedVia: string;
  category: string;
  status: string;
  dueAt: string;
  overdue: boolean;
  callId: string | null;
}

/**
 * Complaints (supervisors and records officers): record one (its text is encrypted by records),
 * see them by due date with the overdue ones marked, move each on: received, investigating, resolved.
 * The list carries no text; none about the signed-in member is ever listed.
 */
export function ComplaintsPanel(props: { token: string }) {
  const list = useLoad(() => api<{ complaints: Complaint[] }>('GET', '/complaints', { token: props.token }), []);
  const [via, setVia] = useState<(typeof CHANNELS)[number] | ''>('');
  const [category, setCategory] = useState<(typeof CATEGORIES)[number] | ''>('');
  const [text, setText] = useState('');
  const [callId, setCallId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const record = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', '/complaints', {
        token: props.token,
        body: { receivedVia: via, category, text, ...(callId.trim() ? { callId: callId.trim() } : {}) },
      });
      setStatus('The complaint is recorded.');
      setText('');
      setCallId('');
      list.reload();
    } catch (err) {
      setError(message(err));
    }
  };
  const move = async (c: Complaint, to: string) => {
    setError(null);
    try {
      await api('PATCH', `/complaints/${encodeURIComponent(c.id)}`, { token: props.token, body: { status: to } });
      setStatus(`The ${human(c.category)} complaint of ${dateTime(c.receivedAt)} is now ${to}.`);
      list.reload();
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section class="panel" aria-labelledby="complaints-title">
      <h2 id="complaints-title">Complaints</h2>
      <form class="inline-form" onSubmit={record} aria-label="Record a complaint">
        <div>
          <label for="complaint-via">Received by</label>
          <Select id="complaint-via" value={via} placeholder="How" options={CHANNELS} label={human} onChange={setVia} required />
        </div>
        <div>
          <label for="complaint-category">Category</label>
          <Select id="complaint-category" value={category} placeholder="Category" options={CATEGORIES} onChange={setCategory} required />
        </div>
        <div>
          <label for="complaint-call">Call id (optional)</label>
          <input id="complaint-call" value={callId} onInput={(e) => setCallId(e.currentTarget.value)} />
        </div>
        <div class="grow">
          <label for="complaint-text">What the complaint says</label>
          <input id="complaint-text" value={text} required maxLength={8000} onInput={(e) => setText(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button primary">
          Record complaint
        </button>
      </form>
      <ErrorText error={error ?? list.error} />
      {status && (
        <p class="ok" role="status">
          {status}
        </p>
      )}
      <table class="table" aria-label="Complaints by due date">
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">By</th>
            <th scope="col">Category</th>
            <th scope="col">State</th>
            <th scope="col">Due</th>
            <th scope="col">
              <span class="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data?.complaints.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                No complaints.
              </td>
            </tr>
          )}
          {list.data?.complaints.map((c) => (
            <tr key={c.id} class={c.overdue ? 'overdue' : ''}>
              <td>
                {dateTime(c.receivedAt)} <span class="muted">#{c.id.slice(0, 8)}</span>
              </td>
              <td>{human(c.receivedVia)}</td>
              <td>{c.category}</td>
              <td>{c.status}</td>
              <td>
                {dateTime(c.dueAt)}
                {c.overdue && <strong> (overdue)</strong>}
              </td>
              <td>
                {NEXT[c.status] && (
                  <button
                    type="button"
                    class="button"
                    aria-label={`${NEXT[c.status]!.label}: the ${c.category} complaint #${c.id.slice(0, 8)} of ${dateTime(c.receivedAt)}`}
                    onClick={() => void move(c, NEXT[c.status]!.status)}
                  >
                    {NEXT[c.status]!.label}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
