import { DISCLOSABLE_FIELDS, DisclosableField } from '@hotline/contract';
import { useState } from 'preact/hooks';
import { CallDetail, escalate } from '../api';
import { EscalationList } from '../call-detail';
import { DISCLOSABLE_FIELD_LABEL, timeOfDay } from '../format';
import type { Session } from '../session';
import { ErrorText, Select } from '../ui';

const LEGAL_BASES = [
  'Vital interests: risk to the caller’s life',
  'Vital interests: risk to another person’s life',
  'Safeguarding duty (child or adult at risk)',
  'Legal obligation or court order',
  'Caller consented to the disclosure',
];

/** Duty to warn: what was disclosed, to whom and on what basis (minimum disclosure: only the contract's fields). */
export function EscalationForm(props: {
  session: Session;
  callId: string;
  escalations: CallDetail['escalations'];
  onSaved: () => Promise<void>;
}) {
  const [disclosedTo, setDisclosedTo] = useState('');
  const [legalBasis, setLegalBasis] = useState('');
  const [fields, setFields] = useState<DisclosableField[]>([]);
  const [confirmedAt, setConfirmedAt] = useState('');
  const [notes, setNotes] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [recorded, setRecorded] = useState<string | null>(null);
  const existing = props.escalations ?? [];
  const [open, setOpen] = useState(existing.length === 0);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!fields.length) return setError('Tick each field you shared (at least one).');
    setSaving(true);
    setError(null);
    try {
      await escalate(props.session.token, props.callId, {
        disclosedTo: disclosedTo.trim(),
        legalBasis,
        fieldsDisclosed: fields,
        ...(confirmedAt ? { emergencyContactConfirmedAt: new Date(confirmedAt).toISOString() } : {}),
        ...(notes.trim() ? { notes: notes.trim() } : {}),
      });
      setRecorded(`Escalation recorded at ${timeOfDay(Date.now())}. Supervisors have been alerted and will co-sign it.`);
      setDisclosedTo('');
      setLegalBasis('');
      setFields([]);
      setConfirmedAt('');
      setNotes('');
      setOpen(false);
      await props.onSaved();
    } catch (err) {
      setError(`The escalation was not recorded: ${(err as Error).message}`);
    } finally {
      setSaving(false);
    }
  };

  return (
    <div class="escalation">
      <h3>Duty to warn: escalation</h3>
      <p role="status" class={recorded ? 'success' : 'hint'}>
        {recorded ?? 'Record what you shared, with whom, and why. Share only what the emergency needs.'}
      </p>
      {existing.length > 0 && <EscalationList escalations={existing} />}
      {open ? (
        <form onSubmit={submit} class="escalation-form">
          <div class="form-row even">
            <div>
              <label for="esc-to">Disclosed to</label>
              <input
                id="esc-to"
                required
                maxLength={200}
                placeholder="e.g. ambulance control room"
                value={disclosedTo}
                onInput={(e) => setDisclosedTo(e.currentTarget.value)}
              />
            </div>
            <div>
              <label for="esc-basis">Legal basis</label>
              <Select
                id="esc-basis"
                required
                value={legalBasis}
                placeholder="Choose the basis"
                options={LEGAL_BASES}
                onChange={setLegalBasis}
              />
            </div>
          </div>
          <fieldset class="fields">
            <legend>Fields disclosed</legend>
            {DISCLOSABLE_FIELDS.map((f) => (
              <label key={f} class="check">
                <input
                  type="checkbox"
                  value={f}
                  checked={fields.includes(f)}
                  onChange={(e) => setFields((cur) => (e.currentTarget.checked ? [...cur, f] : cur.filter((x) => x !== f)))}
                />
                {DISCLOSABLE_FIELD_LABEL[f]}
              </label>
            ))}
          </fieldset>
          <div class="form-row">
            <div>
              <label for="esc-confirmed">Emergency services confirmed contact at</label>
              <input id="esc-confirmed" type="datetime-local" value={confirmedAt} onInput={(e) => setConfirmedAt(e.currentTarget.value)} />
            </div>
            <div>
              <label for="esc-notes">Escalation details (optional)</label>
              <textarea id="esc-notes" rows={1} maxLength={4000} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
            </div>
          </div>
          <ErrorText error={error} />
          <button type="submit" class="button danger" disabled={saving}>
            Record escalation
          </button>
        </form>
      ) : (
        <button type="button" class="button" onClick={() => setOpen(true)}>
          Record another escalation
        </button>
      )}
    </div>
  );
}
