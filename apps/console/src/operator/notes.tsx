import { useRef, useState } from 'preact/hooks';
import { Note, addNote } from '../api';
import { timeOfDay } from '../format';
import type { Session } from '../session';
import { ErrorText } from '../ui';

/** The call's notes, append-only: a correction is an amendment that points at the note it corrects. */
export function Notes(props: { session: Session; callId: string; notes: Note[]; onSaved: () => Promise<void> }) {
  const [text, setText] = useState('');
  const [amending, setAmending] = useState<Note | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const fieldRef = useRef<HTMLTextAreaElement>(null);
  const byId = new Map(props.notes.map((n) => [n.id, n]));
  const notes = [...props.notes].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));

  const save = async (e?: Event) => {
    e?.preventDefault();
    if (!text.trim()) return setError('Write the note first.');
    setSaving(true);
    setError(null);
    try {
      await addNote(props.session.token, props.callId, text, amending?.id);
      setText('');
      setAmending(null);
      await props.onSaved();
    } catch (err) {
      setError(`The note was not saved: ${(err as Error).message}`);
    } finally {
      setSaving(false);
      fieldRef.current?.focus();
    }
  };

  return (
    <div class="notes">
      <h3>Notes</h3>
      {notes.length === 0 ? (
        <p class="muted">No notes yet.</p>
      ) : (
        <ol class="note-list">
          {notes.map((n) => {
            const original = n.amendsNoteId ? byId.get(n.amendsNoteId) : undefined;
            return (
              <li key={n.id} class={n.amendsNoteId ? 'note amendment' : 'note'}>
                <div class="note-meta">
                  <time id={`note-time-${n.id}`} dateTime={n.createdAt}>
                    {timeOfDay(n.createdAt)}
                  </time>
                  {n.amendsNoteId && <span class="tag">Amends the note of {original ? timeOfDay(original.createdAt) : 'earlier'}</span>}
                </div>
                <p class="note-text">{n.text ?? <em class="muted">This note can no longer be read.</em>}</p>
                <button
                  type="button"
                  class="link"
                  aria-describedby={`note-time-${n.id}`}
                  onClick={() => {
                    setAmending(n);
                    fieldRef.current?.focus();
                  }}
                >
                  Amend
                </button>
              </li>
            );
          })}
        </ol>
      )}
      <form class="note-form" onSubmit={save}>
        {amending && (
          <p class="amending" role="status">
            Amending the note of {timeOfDay(amending.createdAt)}; the original stays on record.{' '}
            <button type="button" class="link" onClick={() => setAmending(null)}>
              Cancel amendment
            </button>
          </p>
        )}
        <label for="note">Note</label>
        <textarea
          id="note"
          ref={fieldRef}
          rows={4}
          maxLength={16000}
          value={text}
          aria-describedby="note-hint"
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void save();
            if (e.key === 'Escape' && amending) setAmending(null);
          }}
        />
        <p id="note-hint" class="hint">
          Notes cannot be edited or deleted; correct one with Amend. Ctrl+Enter adds the note.
        </p>
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={saving}>
          Add note
        </button>
      </form>
    </div>
  );
}
