import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { ConnectionState } from './socket';
import type { Session } from './session';

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
  refused: 'Not connected',
};

/**
 * What the page header carries besides who is signed in: "My account" for everyone, "Hand over
 * calls" for supervisors, an admin's switch between views (main.tsx and the views provide them). In
 * the header, never floating over the page (they used to cover the waiting callers and the note button).
 */
const HeaderActions = createContext<ComponentChildren>(null);

/** Adds `actions` to the header of every TopBar below (before those added further up). */
export function WithHeaderActions(props: { actions: ComponentChildren; children: ComponentChildren }) {
  const outer = useContext(HeaderActions);
  return (
    <HeaderActions.Provider
      value={
        <>
          {props.actions}
          {outer}
        </>
      }
    >
      {props.children}
    </HeaderActions.Provider>
  );
}

/**
 * The page header: the page's one h1 (Hotline and the view), the live connection's state (views with
 * sockets), who is signed in, the header actions and Sign out.
 */
export function TopBar(props: { session: Session; connection?: ConnectionState; onSignOut: () => void; title: string }) {
  const { session, connection } = props;
  const actions = useContext(HeaderActions);
  return (
    <header class="topbar">
      <h1 class="brand">
        <span class="brand-name">Hotline</span> <span class="brand-view">{props.title}</span>
      </h1>
      <div class="topbar-right">
        {connection && (
          <span class={`connection connection-${connection}`} role="status" aria-live="polite">
            <span class="dot" aria-hidden="true" />
            {CONNECTION_LABEL[connection]}
          </span>
        )}
        <span class="whoami">
          {session.user.username} <span class="muted">({session.user.role.replace('_', ' ')})</span>
        </span>
        {actions}
        <button type="button" class="button quiet" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

/** A modal dialog: focus is kept inside, Escape closes it, focus returns to where it was. */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? 'dialog wide' : 'dialog'}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id="dialog-title">{props.title}</h2>
        <button type="button" class="button quiet" onClick={props.onClose}>
          Close
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

/** A drop-down whose first line, a disabled placeholder, shows until something is chosen. */
export function Select<T extends string>(props: {
  id: string;
  value: T | '';
  placeholder: string;
  options: readonly T[];
  /** What each option says; the option's value by default. */
  label?: (option: T) => string;
  onChange: (value: T) => void;
  required?: boolean;
  class?: string;
}) {
  return (
    <select
      id={props.id}
      class={props.class}
      required={props.required}
      value={props.value}
      onChange={(e) => props.onChange(e.currentTarget.value as T)}
    >
      <option value="" disabled>
        {props.placeholder}
      </option>
      {props.options.map((o) => (
        <option key={o} value={o}>
          {props.label ? props.label(o) : o}
        </option>
      ))}
    </select>
  );
}

export function ErrorText(props: { error?: string | null }) {
  return props.error ? (
    <p class="error" role="alert">
      {props.error}
    </p>
  ) : null;
}
