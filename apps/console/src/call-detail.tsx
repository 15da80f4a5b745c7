import type { CallDetail, Escalation } from './api';
import { DISCLOSED_FIELD_NAME, RISK_LABEL, callLength, dateTime, timeOfDay } from './format';

/** A call's record, read-only: notes in order (amendments marked), risk history, escalations. */
export function CallDetailView(props: { detail: CallDetail; onCosign?: (escalationId: string) => void; cosigning?: string | null }) {
  const d = props.detail;
  const notes = [...(d.notes ?? [])].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  const byId = new Map(notes.map((n) => [n.id, n]));
  const risk = d.assessment?.riskLevel ?? d.riskLevel;
  return (
    <div class="call-detail">
      <dl class="facts">
        <div>
          <dt>Started</dt>
          <dd>{dateTime(d.startedAt)}</dd>
        </div>
        <div>
          <dt>Length</dt>
          <dd>{callLength(d)}</dd>
        </div>
        <div>
          <dt>Risk</dt>
          <dd>{risk ? RISK_LABEL[risk] : 'not assessed'}</dd>
        </div>
      </dl>
      <h3>Notes</h3>
      {notes.length === 0 ? (
        <p class="muted">No notes.</p>
      ) : (
        <ol class="note-list">
          {notes.map((n) => (
            <li key={n.id} class={n.amendsNoteId ? 'note amendment' : 'note'}>
              <div class="note-meta">
                <time dateTime={n.createdAt}>{timeOfDay(n.createdAt)}</time>
                {n.amendsNoteId && (
                  <span class="tag">
                    Amends the note of {byId.get(n.amendsNoteId) ? timeOfDay(byId.get(n.amendsNoteId)!.createdAt) : 'earlier'}
                  </span>
                )}
              </div>
              <p class="note-text">{n.text ?? <em class="muted">This note can no longer be read.</em>}</p>
            </li>
          ))}
        </ol>
      )}
      {(d.escalations?.length ?? 0) > 0 && (
        <>
          <h3>Escalations</h3>
          <EscalationList escalations={d.escalations!} onCosign={props.onCosign} cosigning={props.cosigning} />
        </>
      )}
    </div>
  );
}

export function EscalationList(props: { escalations: Escalation[]; onCosign?: (id: string) => void; cosigning?: string | null }) {
  return (
    <ul class="escalation-list">
      {props.escalations.map((e) => {
        const cosigned = Boolean(e.cosignedAt ?? e.cosignedBy);
        return (
          <li key={e.id}>
            <p>
              <strong>{e.createdAt ? timeOfDay(e.createdAt) : 'Recorded'}</strong>
              {e.disclosedTo && <> · disclosed to {e.disclosedTo}</>}
              {e.fieldsDisclosed?.length ? (
                <> · shared: {e.fieldsDisclosed.map((f) => DISCLOSED_FIELD_NAME[f] ?? f.replace(/_/g, ' ')).join(', ')}</>
              ) : null}
            </p>
            {e.legalBasis && <p class="muted">Basis: {e.legalBasis}</p>}
            {e.emergencyContactConfirmedAt && (
              <p class="muted">Emergency services confirmed contact at {timeOfDay(e.emergencyContactConfirmedAt)}</p>
            )}
            <p class={cosigned ? 'success' : 'warning'}>
              {cosigned ? 'Co-signed by a supervisor' : 'Awaiting a supervisor’s co-signature'}
            </p>
            {!cosigned && props.onCosign && (
              <button type="button" class="button primary" disabled={props.cosigning === e.id} onClick={() => props.onCosign!(e.id)}>
                Co-sign
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}
