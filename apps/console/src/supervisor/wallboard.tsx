import type { QueueStats } from '@hotline/contract';
import { STATUS_LABEL, clock, spoken } from '../format';
import { useNow } from '../socket';

/** The latest `queue:stats`, and the local time it arrived (wait times keep counting from it). */
type Snapshot = { stats: QueueStats; at: number } | null;

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

export function Wallboard(props: { snapshot: Snapshot }) {
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

export function WaitingCalls(props: { snapshot: Snapshot }) {
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

export function Operators(props: { snapshot: Snapshot }) {
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
