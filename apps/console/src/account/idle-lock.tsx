import { useEffect, useRef } from 'preact/hooks';
import { Session, loadStored } from '../session';
import { Me, unlockSession } from './account-api';
import { ReauthForm } from './reauth-form';

const ACTIVITY = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart'] as const;

/** An operator's call that is still live (stored by the operator view): the console never locks then. */
export function onLiveCall(): boolean {
  const call = loadStored<{ callId: string; endedAt?: number }>('call');
  return !!call && !call.endedAt;
}

/**
 * Locks the console after `idleSeconds` without input, unless a call is live. Locking is the
 * server's (POST /auth/lock, asked by `onLock`): records then refuses every request of this session
 * but unlocking and signing out, and the gateway its sockets and events, so a reload, another tab
 * or a copied token gets nothing either; the page asks records at start (GET /auth/me) and shows the
 * lock again. While locked the view is unmounted, so no call content stays on the page (nor its
 * live connection). Unlocking needs the member's password, and their code or passkey where they
 * have a second factor (POST /auth/unlock); the same session then goes on.
 */
export function IdleLock(props: {
  session: Session;
  idleSeconds: number;
  locked: boolean;
  factors: Me['factors'] | null;
  onLock: () => void;
  onUnlocked: () => void;
  onSignOut: () => void;
  children: any;
}) {
  const last = useRef(Date.now());
  const { locked, onLock } = props;

  useEffect(() => {
    if (locked) return;
    last.current = Date.now();
    const seen = () => (last.current = Date.now());
    for (const e of ACTIVITY) window.addEventListener(e, seen, { passive: true });
    const timer = setInterval(() => {
      if (onLiveCall()) last.current = Date.now();
      else if (Date.now() - last.current >= props.idleSeconds * 1000) onLock();
    }, 1000);
    return () => {
      for (const e of ACTIVITY) window.removeEventListener(e, seen);
      clearInterval(timer);
    };
  }, [locked, props.idleSeconds, onLock]);

  if (!locked) return props.children;
  return <LockScreen session={props.session} factors={props.factors} onUnlocked={props.onUnlocked} onSignOut={props.onSignOut} />;
}

function LockScreen(props: { session: Session; factors: Me['factors'] | null; onUnlocked: () => void; onSignOut: () => void }) {
  const { username } = props.session.user;
  const factor = props.factors?.totp ? ' and a code from your authenticator app' : props.factors?.passkey ? ' and your passkey' : '';
  return (
    <main class="signin locked">
      <section class="card" aria-labelledby="lock-title">
        <h1 id="lock-title">Console locked</h1>
        <p role="status">
          The console locked itself after a while without use. {username}, enter your password{factor} to go on.
        </p>
        <ReauthForm
          token={props.session.token}
          factors={props.factors}
          idPrefix="unlock"
          submitLabel="Unlock"
          send={(body) => unlockSession(props.session.token, body)}
          onDone={props.onUnlocked}
        >
          <button type="button" class="button quiet" onClick={props.onSignOut}>
            Sign out
          </button>
        </ReauthForm>
      </section>
    </main>
  );
}
