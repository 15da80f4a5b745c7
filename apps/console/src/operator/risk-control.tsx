import { RISK_LEVELS, RiskLevel } from '@hotline/contract';
import { useEffect, useState } from 'preact/hooks';
import { assess } from '../api';
import { RISK_LABEL } from '../format';
import type { Session } from '../session';
import { ErrorText, Select } from '../ui';

/** The risk level, saved as it is chosen; imminent alerts the supervisors. */
export function RiskControl(props: { session: Session; callId: string; value: RiskLevel | null; onSaved: () => Promise<void> }) {
  const [value, setValue] = useState<RiskLevel | ''>(props.value ?? '');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setValue(props.value ?? ''), [props.value]);

  const change = async (level: RiskLevel) => {
    const before = value;
    setValue(level);
    setError(null);
    setMessage('Saving…');
    try {
      await assess(props.session.token, props.callId, level);
      setMessage(
        level === 'imminent'
          ? 'Saved: imminent. Supervisors have been alerted. Record the escalation below.'
          : `Saved: ${RISK_LABEL[level].toLowerCase()}.`,
      );
      await props.onSaved();
    } catch (err) {
      setValue(before);
      setMessage(null);
      setError(`The risk level was not saved: ${(err as Error).message}`);
    }
  };

  return (
    <div class="risk">
      <div class="risk-row">
        <label for="risk">Risk</label>
        <Select
          id="risk"
          class={`risk-${value || 'unset'}`}
          value={value}
          placeholder="Not assessed yet"
          options={RISK_LEVELS}
          label={(r) => RISK_LABEL[r]}
          onChange={change}
        />
      </div>
      <p class="hint" aria-live="polite">
        {message}
      </p>
      <ErrorText error={error} />
    </div>
  );
}
