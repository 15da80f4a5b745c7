import {
  COMPLAINT_CATEGORIES,
  COMPLAINT_CHANNELS,
  COMPLAINT_NEXT_STATUS,
  ComplaintCategory,
  ComplaintChannel,
  ComplaintSummary,
} from '@hotline/contract';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { DataTable } from '../components/data-table';
import { Field, InlineForm, Outcome, TextField, useAction } from '../components/form';
import { useLoad } from '../components/load';
import { dateTime } from '../format';
import { ErrorText, Select } from '../ui';

const LABEL = { investigating: 'Start investigating', resolved: 'Resolve' } as const;
const human = (s: string) => s.replace('_', ' ');

/**
 * Complaints (supervisors and records officers): record one (its text is encrypted by records),
 * see them by due date with the overdue ones marked, move each on: received, investigating, resolved.
 * The list carries no text; none about the signed-in member is ever listed.
 */
export function ComplaintsPanel(props: { token: string }) {
  const list = useLoad(() => api<{ complaints: ComplaintSummary[] }>('GET', '/complaints', { token: props.token }), []);
  const [via, setVia] = useState<ComplaintChannel | ''>('');
  const [category, setCategory] = useState<ComplaintCategory | ''>('');
  const [text, setText] = useState('');
  const [callId, setCallId] = useState('');
  const action = useAction();

  const record = () =>
    action.run(async () => {
      await api('POST', '/complaints', {
        token: props.token,
        body: { receivedVia: via, category, text, ...(callId.trim() ? { callId: callId.trim() } : {}) },
      });
      setText('');
      setCallId('');
      list.reload();
      return 'The complaint is recorded.';
    });
  const move = (c: ComplaintSummary, to: string) =>
    action.run(async () => {
      await api('PATCH', `/complaints/${encodeURIComponent(c.id)}`, { token: props.token, body: { status: to } });
      list.reload();
      return `The ${human(c.category)} complaint of ${dateTime(c.receivedAt)} is now ${to}.`;
    });
  const nextStep = (c: ComplaintSummary) => {
    const to = COMPLAINT_NEXT_STATUS[c.status];
    return to ? { to, label: LABEL[to as keyof typeof LABEL] } : null;
  };

  return (
    <section class="panel" aria-labelledby="complaints-title">
      <h2 id="complaints-title">Complaints</h2>
      <InlineForm label="Record a complaint" onSubmit={() => void record()}>
        <Field id="complaint-via" label="Received by">
          <Select id="complaint-via" value={via} placeholder="How" options={COMPLAINT_CHANNELS} label={human} onChange={setVia} required />
        </Field>
        <Field id="complaint-category" label="Category">
          <Select
            id="complaint-category"
            value={category}
            placeholder="Category"
            options={COMPLAINT_CATEGORIES}
            onChange={setCategory}
            required
          />
        </Field>
        <TextField id="complaint-call" label="Call id (optional)" value={callId} onValue={setCallId} />
        <TextField id="complaint-text" label="What the complaint says" value={text} onValue={setText} required maxLength={8000} grow />
        <button type="submit" class="button primary" disabled={action.busy}>
          Record complaint
        </button>
      </InlineForm>
      <ErrorText error={list.error} />
      <Outcome error={action.error} done={action.done} />
      <DataTable
        label="Complaints by due date"
        rows={list.data?.complaints}
        rowKey={(c) => c.id}
        rowClass={(c) => (c.overdue ? 'overdue' : '')}
        empty="No complaints."
        columns={[
          {
            header: 'Received',
            cell: (c) => (
              <>
                {dateTime(c.receivedAt)} <span class="muted">#{c.id.slice(0, 8)}</span>
              </>
            ),
          },
          { header: 'By', cell: (c) => human(c.receivedVia) },
          { header: 'Category', cell: (c) => c.category },
          { header: 'State', cell: (c) => c.status },
          {
            header: 'Due',
            cell: (c) => (
              <>
                {dateTime(c.dueAt)}
                {c.overdue && <strong> (overdue)</strong>}
              </>
            ),
          },
          {
            header: 'Action',
            hidden: true,
            cell: (c) => {
              const step = nextStep(c);
              return (
                step && (
                  <button
                    type="button"
                    class="button"
                    aria-label={`${step.label}: the ${c.category} complaint #${c.id.slice(0, 8)} of ${dateTime(c.receivedAt)}`}
                    onClick={() => void move(c, step.to)}
                  >
                    {step.label}
                  </button>
                )
              );
            },
          },
        ]}
      />
    </section>
  );
}
