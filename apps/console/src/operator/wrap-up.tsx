import { WRAP_UP_CATEGORIES, WrapUpCategory } from '@hotline/contract';
import { useState } from 'preact/hooks';
import { ErrorText, Select } from '../ui';
import { OperatorSocket, ask } from './live';

/**
 * After the call: a category (libs/contract's list, which records' research export knows too), then
 * Done makes the operator available again.
 */
export function WrapUp(props: { callId: string; socket: OperatorSocket; onDone: () => void }) {
  const [category, setCategory] = useState<WrapUpCategory | ''>('');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const res = await ask(props.socket, 'wrapup:done', { callId: props.callId, category });
      if (res.ok) props.onDone();
      else setError(`Wrap-up was not accepted: ${res.error ?? 'refused'}.`);
    } catch {
      setError('No answer from the server. Check the connection and try again.');
    } finally {
      setSaving(false);
    }
  };
  return (
    <form class="wrapup" onSubmit={submit}>
      <h3>Wrap-up</h3>
      <p class="hint">Finish your notes, choose a category, then press Done to take calls again.</p>
      <label for="wrapup-category">Category</label>
      <Select
        id="wrapup-category"
        required
        value={category}
        placeholder="Choose a category"
        options={WRAP_UP_CATEGORIES}
        onChange={setCategory}
      />
      <ErrorText error={error} />
      <button type="submit" class="button primary" disabled={saving}>
        Done
      </button>
    </form>
  );
}
