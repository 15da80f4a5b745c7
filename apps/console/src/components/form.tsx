import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorText } from '../ui';
import { message } from './load';

/** A label and its control, one cell of an inline form (`grow` takes the remaining width). */
export function Field(props: { id: string; label: string; grow?: boolean; children: ComponentChildren }) {
  return (
    <div class={props.grow ? 'grow' : undefined}>
      <label for={props.id}>{props.label}</label>
      {props.children}
    </div>
  );
}

/** A labelled text input (datetime-local too, with `type`). */
export function TextField(props: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'text' | 'datetime-local';
  placeholder?: string;
  required?: boolean;
  maxLength?: number;
  grow?: boolean;
}) {
  return (
    <Field id={props.id} label={props.label} grow={props.grow}>
      <input
        id={props.id}
        type={props.type}
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        maxLength={props.maxLength}
        onInput={(e) => props.onValue(e.currentTarget.value)}
      />
    </Field>
  );
}

/** A form laid out in one wrapping row, named for screen readers; submitting does not reload the page. */
export function InlineForm(props: { label: string; describedBy?: string; onSubmit: () => void; children: ComponentChildren }) {
  return (
    <form
      class="inline-form"
      aria-label={props.label}
      aria-describedby={props.describedBy}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}

/**
 * What a form or a row's button does with records: busy while it runs, its error (records' message)
 * or what it did (a line read out as a status).
 */
export function useAction(): {
  busy: boolean;
  error: string | null;
  done: string | null;
  setError: (error: string | null) => void;
  run: (action: () => Promise<string | void>) => Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (action: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const said = await action();
      if (said) setDone(said);
      return true;
    } catch (err) {
      setError(message(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, setError, run };
}

/** The outcome of an action: its error, or what it did. */
export function Outcome(props: { error?: string | null; done?: string | null }) {
  return (
    <>
      <ErrorText error={props.error} />
      {props.done && (
        <p class="ok" role="status">
          {props.done}
        </p>
      )}
    </>
  );
}
