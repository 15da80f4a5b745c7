import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { message } from '../account/sign-in-steps';
import { dateTime } from '../format';
import { Session } from '../session';
import { Dialog, ErrorText } from '../ui';

interface Operator {
  id: string;
  username: string;
  displayName: string;
  active: boolean;
  endedCalls: number;
  liveCalls: number;
}
interface HeldCall {
  callId: string;
  startedAt: string;
  endedAt: string;
  riskLevel: string;
}

/**
 * A supervisor hands a leaving operator's calls (all their ended calls, or those chosen) to another
 * active operator, with the reason. Metadata only: no call content is shown or needed.
 */
export function HandoverButton(props: { session: Session }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="button quiet handover-button" onClick={() => setOpen(true)}>
        Hand over calls
      </button>
      {open && <HandoverDialog token={props.session.token} onClose={() => setOpen(false)} />}
    </>
  );
}

function HandoverDialog(props: { token: string; onClose: () => void }) {
  const { token } = props;
  const [operators, setOperators] = useState<Operator[] | null>(null);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [calls, setCalls] = useState<HeldCall[] | null>(null);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [all, setAll] = useState(true);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const load = () =>
    api<{ items: Operator[] }>('GET', '/handovers/operators', { token }).then(
      (r) => setOperators(r.items),
      (e) => setError(message(e)),
    );
  useEffect(() => void load(), [token]);
  useEffect(() => {
    setCalls(null);
    setChosen(new Set());
    if (!from) return;
    api<{ items: HeldCall[] }>('GET', `/handovers/operators/${encodeURIComponent(from)}/calls`, { token }).then(
      (r) => setCalls(r.items),
      (e) => setError(message(e)),
    );
  }, [from]);

  const name = (o: Operator) => `${o.displayName} (${o.username})${o.active ? '' : ', deactivated'}`;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ moved: string[]; refused: string[] }>('POST', '/handovers', {
        token,
        body: { fromOperatorId: from, toOperatorId: to, reason, ...(all ? {} : { callIds: [...chosen] }) },
      });
      setDone(
        `${r.moved.length} call${r.moved.length === 1 ? '' : 's'} handed over.${r.refused.length ? ` ${r.refused.length} could not be (still live or no longer theirs).` : ''}`,
      );
      setReason('');
      setFrom('');
      await load();
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <Dialog title="Hand over an operator's calls" onClose={props.onClose} wide>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ErrorText error={error} />
      <form class="form" onSubmit={submit}>
        <label for="handover-from">From (the operator who leaves)</label>
        <select id="handover-from" required value={from} onChange={(e) => setFrom(e.currentTarget.value)}>
          <option value="" disabled>
            Choose an operator
          </option>
          {operators?.map((o) => (
            <option key={o.id} value={o.id}>
              {name(o)}: {o.endedCalls} ended, {o.liveCalls} live
            </option>
          ))}
        </select>
        <label for="handover-to">To (an active operator)</label>
        <select id="handover-to" required value={to} onChange={(e) => setTo(e.currentTarget.value)}>
          <option value="" disabled>
            Choose an operator
          </option>
          {operators
            ?.filter((o) => o.active && o.id !== from)
            .map((o) => (
              <option key={o.id} value={o.id}>
                {name(o)}
              </option>
            ))}
        </select>
        {from && (
          <fieldset>
            <legend>Which calls</legend>
            <label>
              <input type="radio" name="which" checked={all} onChange={() => setAll(true)} /> All their ended calls ({calls?.length ?? '…'})
            </label>
            <label>
              <input type="radio" name="which" checked={!all} onChange={() => setAll(false)} /> Only those I choose
            </label>
            {!all &&
              calls?.map((c) => (
                <label key={c.callId}>
                  <input
                    type="checkbox"
                    checked={chosen.has(c.callId)}
                    onChange={(e) => {
                      const next = new Set(chosen);
                      if (e.currentTarget.checked) next.add(c.callId);
                      else next.delete(c.callId);
                      setChosen(next);
                    }}
                  />{' '}
                  Call of {dateTime(c.startedAt)} (risk: {c.riskLevel})
                </label>
              ))}
          </fieldset>
        )}
        <label for="handover-reason">Why</label>
        <textarea
          id="handover-reason"
          required
          minLength={5}
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <div class="actions">
          <button type="submit" class="button primary" disabled={!from || !to || (!all && !chosen.size)}>
            Hand over
          </button>
          <button type="button" class="button quiet" onClick={props.onClose}>
            Close
          </button>
        </div>
      </form>
    </Dialog>
  );
}
