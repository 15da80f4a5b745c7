import type { ComponentChildren } from 'preact';
import type { Session } from '../session';
import { TopBar } from '../ui';

/**
 * The page frame of the oversight consoles (records officer, auditor): they use REST only, so the
 * header shows who is signed in and no live-connection state.
 */
export function OversightShell(props: { session: Session; title: string; onSignOut: () => void; children: ComponentChildren }) {
  return (
    <div class="shell">
      <TopBar session={props.session} title={props.title} onSignOut={props.onSignOut} />
      <main class="oversight">{props.children}</main>
    </div>
  );
}
